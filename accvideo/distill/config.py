"""Settings of a distillation run (Algorithm 1), with the paper's values noted where ours differ."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

# Fields of runs saved before d009dd6 that this version no longer has (tests/test_recipes.py REMOVED holds the values
# they are fixed at now)
REMOVED_FIELDS = frozenset({"ema", "disc_steps", "adv_loss", "head_norm", "noisy_layer", "clean_layer", "sample_every",
                            "stop_at", "eval_every", "paraphrases", "paraphrase_prob", "onpolicy_guidance",
                            "real_shapes", "disc_features", "queue_capacity", "max_loss", "max_rise", "teacher_steps",
                            "onpolicy_steps", "lr_fake"})
SHAPES_PREFIX = "shapes:"  # --real-videos shapes:N, the miniature's real clips: N rendered Shapes-world clips

# Named recipes (`accvideo distill --recipe NAME`): the fields each sets; any flag given after --recipe overrides.
RECIPES: dict[str, dict] = {
    # Algorithm 1 as published (Sec. 5, implementation details): 1200 iterations, AdamW lr 5e-6 for the student and
    # the heads, total batch 32 (8 x 4 accumulated), lambda_adv 0.1, the plain Eq. 6 loss, m = 5 from SynVid
    "paper": dict(iters=1200, lr=5e-6, lr_heads=5e-6, batch_size=8, grad_accum=4, lambda_adv=0.1, traj_norm="none",
                  student_steps=5),
    # the shipped 5-step student (assets/student), with --exclude naming the misdrawn SynVid samples
    # (accvideo synvid misdrawn): ours, a 300-iteration budget on one CPU core
    "shipped": dict(iters=300, lr=2e-4, lr_heads=5e-4, batch_size=8, grad_accum=1, lambda_adv=0.1, traj_norm="first",
                    checkpoint_every=25, onpolicy=10.0, onpolicy_keys=(2, 1, 0)),
}


@dataclass
class DistillConfig:
    """One distillation run."""

    data: str | None  # SynVid folder (the student's only data); a teacher-data file with data_kind real
    teacher: str = "teacher"  # teacher model folder (frozen feature extractor; the student starts from it)
    init: str | None = None  # start the student from this model folder's weights instead (a student to refine; ours)
    out: str = "runs/distill"  # run folder: checkpoints, losses-rank*.csv, heads.csv, final/
    iters: int = 200  # outer iterations; each runs the m key intervals k = m-1 .. 0 once (Algorithm 1, line 5)
    lr: float = 5e-5  # student AdamW lr (paper: 5e-6 for the 13B HunyuanVideo)
    lr_heads: float = 2e-4  # projection heads' AdamW lr
    lambda_adv: float = 0.1  # weight of the adversarial loss (paper: 0.1)
    traj_norm: Literal["none", "first"] = "none"  # "first" (ours): each key interval's Eq. 6 loss over its first value
    batch_size: int = 8  # SynVid samples per step and process
    grad_accum: int = 1  # micro-batches per optimiser step (paper: total batch 32)
    mode: Literal["full", "traj", "adv"] = "full"  # "full" (Eq. 6 + Eq. 7), "traj" (--no-adv), "adv" (--adv-only)
    single_head: bool = False  # one shared projection head (ablation)
    data_kind: Literal["synvid", "real"] = "synvid"  # ablation real: forward-diffused real latents (Sec. 3.2)
    student_steps: int | None = None  # m (default: the SynVid's own; any m from a --keep all SynVid; real: 5)
    schedule: Literal["accvideo", "uniform"] = "accvideo"  # key timesteps: every n/m-th teacher step, or uniform
    checkpoint_every: int = 25  # iterations between checkpoints
    seed: int = 0  # seeds the student's batches and the noise entering the queues
    threads: int = 2  # torch CPU threads per process
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"  # the frozen teacher's weights (the student trains in fp32)
    gradient_checkpointing: bool = False  # recompute the student's blocks in the backward pass (real sizes)
    lora_rank: int = 0  # 0: train every weight; R: train rank-R LoRA adapters (peft) over the frozen teacher
    holdout: int = 0  # SynVid samples (the last ones) kept out of training; the heads are checked on them (and on as
    #                   many held-out real clips) at every checkpoint, into heads.csv
    exclude: str | None = None  # a text file of SynVid sample ids (one per line) never trained on, e.g. misdrawn ones
    onpolicy: float = 0.0  # weight of Eq. 6 from the student's own latents to the teacher's solution (ours); 0: off
    #                        (the target: the teacher's CFG solve from the queue's l^gen_{t'_{k+1}} down to t'_k)
    onpolicy_keys: tuple[int, ...] = ()  # the key intervals k that get it (m-1: the first, from noise); none given: all
    real_videos: str | None = None  # the heads' real side (ours): a folder of videos with NAME.txt captions beside
    #                                 them, or shapes:N for N rendered Shapes-world clips
    dmd: float = 0.0  # weight of distribution matching at the student's clean output (ours, distill/dmd.py); 0: off
    pixel_adv: float = 0.0  # weight of a critic on decoded frames, real clips (--real-videos) against the student's
    #                         clean outputs (ours, distill/pixels.py); with it the heads keep SynVid as real; 0: off
    pixel_warmup: int = 0  # iterations in which the critic of --pixel-adv learns alone before the student gets its
    #                        gradient (a fresh critic sits at chance for hundreds of steps while the student adapts)

    def __post_init__(self):
        from accvideo import validation
        from accvideo.training.state import check_choices

        for name in ("iters", "batch_size", "grad_accum", "checkpoint_every", "threads"):
            validation.whole(name, getattr(self, name), low=1)
        validation.seed("seed", self.seed)
        if self.student_steps is not None and self.student_steps < 1:
            raise ValueError(f"student_steps must be at least 1, got {self.student_steps}")
        if self.pixel_warmup < 0:
            raise ValueError(f"pixel_warmup must be >= 0, got {self.pixel_warmup}")
        if self.holdout < 0:
            raise ValueError(f"holdout must be >= 0, got {self.holdout}")
        for flag_name, value in {"--holdout": self.holdout, "--exclude": self.exclude}.items():
            if value and self.data_kind != "synvid":
                raise ValueError(f"{flag_name} names SynVid samples; the real-data baseline has none")
        queue_readers = {"--onpolicy": self.onpolicy, "--dmd": self.dmd, "--real-videos": self.real_videos,
                         "--pixel-adv": self.pixel_adv}
        for flag_name, value in queue_readers.items():
            if value and (self.data_kind != "synvid" or not self.uses_adv):
                raise ValueError(f"{flag_name} reads the latent queues or feeds the heads: it needs SynVid data and "
                                 "the adversarial loss (not --no-adv)")
        if any(k < 0 for k in self.onpolicy_keys) or len(set(self.onpolicy_keys)) < len(self.onpolicy_keys):
            raise ValueError(f"onpolicy_keys must be distinct key intervals k >= 0, got {list(self.onpolicy_keys)}")
        if self.real_videos:
            real_clips_spec(self.real_videos)
        if self.pixel_adv and not self.real_videos:
            raise ValueError("--pixel-adv tells real clips from the student's: name them with --real-videos")
        if self.init and self.lora_rank:
            raise ValueError("--init starts every weight from a model folder; --lora-rank trains adapters on the "
                             "teacher: choose one")
        if self.lora_rank < 0:
            raise ValueError(f"lora_rank must be 0 (all weights) or a rank >= 1, got {self.lora_rank}")
        for name in ("lambda_adv", "onpolicy", "dmd", "pixel_adv"):
            validation.number(name, getattr(self, name), low=0.0)
        for name in ("lr", "lr_heads"):  # 0 would train nothing
            validation.number(name, getattr(self, name), above=0.0)
        check_choices(self)
        if self.data_kind == "real" and self.schedule != "accvideo":
            raise ValueError("the real-data baseline uses the accvideo key timesteps")

    @classmethod
    def from_saved(cls, saved: dict) -> DistillConfig:
        """The config a run saved (its distill_config.json, as any version wrote it), without the record of what its
        paths named and the options earlier versions had and this one removed; fields added since take their
        defaults. Paths are not checked. ValueError for a key no version wrote, a missing field or a bad value."""
        from accvideo import validation

        unknown, missing = validation.saved_fields(cls, saved, REMOVED_FIELDS | {"identity"})
        if unknown:
            raise ValueError(f"not a saved distillation config (unknown {', '.join(unknown)})")
        if missing:
            raise ValueError(f"not a saved distillation config (no {', '.join(missing)})")
        names = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in names})

    def resume_conflicts(self, saved: dict, identity: dict | None = None) -> list[str]:
        """Fields of a run's saved config that a resumed run may not change (its optimiser state, data and
        schedule came from them); the length and bookkeeping fields may change, and so may where the run folder
        is. A path is compared by what it names (`identity`, this run's accvideo.validation.path_identity of
        each path field, against the one saved when the run started), not by how it was typed."""
        free = {"iters", "threads", "checkpoint_every", "out"}
        mine = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}  # JSON keeps lists
        recorded, identity = saved.get("identity") or {}, identity or {}

        def same(key: str, value) -> bool:
            if key in recorded and key in identity:
                return recorded[key] == identity[key]
            return saved[key] == value  # a run saved before identities were recorded

        return sorted(k for k, v in mine.items() if k not in free and k in saved and not same(k, v))

    def real_source(self) -> tuple[str | None, int]:
        """--real-videos as (folder, 0), or (None, N) for N rendered Shapes-world clips; (None, 0) when unset."""
        return real_clips_spec(self.real_videos) if self.real_videos else (None, 0)

    @property
    def uses_adv(self) -> bool:
        return self.mode in ("full", "adv")

    @property
    def uses_real(self) -> bool:
        """Whether the heads' real side is real clips (--real-videos without --pixel-adv) instead of SynVid."""
        return bool(self.real_videos) and not self.pixel_adv

    @property
    def uses_traj(self) -> bool:
        return self.mode in ("full", "traj")


def real_clips_spec(value: str) -> tuple[str | None, int]:
    """--real-videos: (folder, 0) for a folder of videos, (None, N) for shapes:N; ValueError for a bad N."""
    if not value.startswith(SHAPES_PREFIX):
        return value, 0
    count = value[len(SHAPES_PREFIX):]
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--real-videos {value}: shapes:N needs a whole number of clips N >= 1")
    return None, int(count)
