"""Settings of a distillation run (Algorithm 1), with the paper's values noted where ours differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from accvideo.schedules import TEACHER_STEPS


# Named recipes (`accvideo distill --recipe NAME`): the fields each sets; any flag given after --recipe overrides.
RECIPES: dict[str, dict] = {
    # Algorithm 1 as published (Sec. 5, implementation details): 1200 iterations, AdamW lr 5e-6 for the student and
    # the heads, total batch 32 (8 x 4 accumulated), lambda_adv 0.1, the plain Eq. 6 loss, m = 5 from SynVid
    "paper": dict(iters=1200, lr=5e-6, lr_heads=5e-6, batch_size=8, grad_accum=4, lambda_adv=0.1, traj_norm="none",
                  ema=0.0, student_steps=5),
    # the shipped 5-step student (assets/student), with --exclude naming the misdrawn SynVid samples
    # (accvideo synvid misdrawn): ours, a 300-iteration budget on one CPU core
    "shipped": dict(iters=300, lr=2e-4, lr_heads=5e-4, batch_size=8, grad_accum=1, lambda_adv=0.1, traj_norm="first",
                    ema=0.0, checkpoint_every=25, onpolicy=10.0, onpolicy_steps=2, onpolicy_keys=(2, 1, 0)),
}


@dataclass
class DistillConfig:
    """One distillation run."""

    data: str | None  # SynVid folder (the student's only data); a teacher-data file with data_kind real
    teacher: str = "teacher"  # teacher model folder (frozen feature extractor; the student starts from it)
    out: str = "runs/distill"  # run folder: checkpoints, losses.csv, samples/, final/
    iters: int = 200  # outer iterations; each runs the m key intervals k = m-1 .. 0 once (Algorithm 1, line 5)
    lr: float = 5e-5  # student AdamW lr (paper: 5e-6 for the 13B HunyuanVideo)
    lr_heads: float = 2e-4  # projection heads' AdamW lr
    disc_steps: int = 1  # head updates per inner step (paper: 1); the extra ones read other SynVid samples (real)
    #                      and the student's latents in Q_k (fake): a head needs hundreds of updates to separate them
    lambda_adv: float = 0.1  # weight of the adversarial loss (paper: 0.1)
    traj_norm: Literal["none", "first"] = "none"  # "first" (ours): each key interval's Eq. 6 loss over its first value
    batch_size: int = 8  # SynVid samples per step and process
    grad_accum: int = 1  # micro-batches per optimiser step (paper: total batch 32)
    adv_loss: Literal["nonsaturating", "hinge"] = "nonsaturating"  # the GAN loss of Eq. 7 (paper: non-saturating)
    mode: Literal["full", "traj", "adv"] = "full"  # "full" (Eq. 6 + Eq. 7), "traj" (--no-adv), "adv" (--adv-only)
    single_head: bool = False  # one shared projection head (ablation)
    head_norm: Literal["group", "none"] = "group"  # the heads' hidden norm; "none" keeps real/fake contrast visible
    data_kind: Literal["synvid", "real"] = "synvid"  # ablation real: forward-diffused real latents (Sec. 3.2)
    student_steps: int | None = None  # m (default: the SynVid's own; any m from a --keep all SynVid; real: 5)
    teacher_steps: int = TEACHER_STEPS  # n, with data_kind real: the teacher's grid whose solution is the target
    schedule: Literal["accvideo", "uniform"] = "accvideo"  # key timesteps: every n/m-th teacher step, or uniform
    queue_capacity: int = 64  # entries per latent queue
    noisy_layer: int | None = None  # teacher block read for t > 0 (default: the last)
    clean_layer: int | None = None  # teacher block read for t = 0 (default: 2/3 of the depth)
    ema: float = 0.0  # EMA decay of the exported student; 0 = no EMA
    checkpoint_every: int = 25  # iterations between checkpoints
    sample_every: int = 0  # iterations between sample clips written to out/samples (0 = never)
    max_loss: float = 1e3  # divergence guard: a trajectory loss above this (or NaN/Inf) stops the run
    max_rise: float = 20.0  # divergence guard: a trajectory loss this many times its first value for k stops it
    seed: int = 0  # seeds the student's batches and the noise entering the queues
    threads: int = 2  # torch CPU threads per process
    stop_at: int | None = None  # end this invocation after this iteration (continue with resume)
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"  # the frozen teacher's weights (the student trains in fp32)
    gradient_checkpointing: bool = False  # recompute the student's blocks in the backward pass (real sizes)
    lora_rank: int = 0  # 0: train every weight; R: train rank-R LoRA adapters (peft) over the frozen teacher
    holdout: int = 0  # SynVid samples (the last ones) kept out of training, for the heads' held-out check
    eval_every: int = 0  # iterations between held-out checks of the heads into heads.csv (0: none; needs holdout)
    exclude: str | None = None  # a text file of SynVid sample ids (one per line) never trained on, e.g. misdrawn ones
    paraphrases: str | None = None  # JSONL {"id": i, "prompts": [...]}: other captions of sample i's scene (ours)
    paraphrase_prob: float = 0.5  # chance that a sample with paraphrases is trained with one of them at a step
    onpolicy: float = 0.0  # weight of Eq. 6 from the student's own latents to the teacher's solution (ours); 0: off
    #                        (the target: the teacher's CFG solve from the queue's l^gen_{t'_{k+1}} down to t'_k)
    onpolicy_steps: int = 1  # teacher grid steps of that solution per key interval (at most n / m)
    onpolicy_guidance: float | None = None  # CFG scale of that solution (default: the SynVid's own)
    onpolicy_keys: tuple[int, ...] = ()  # the key intervals k that get it (m-1: the first, from noise); none given: all
    real_videos: str | None = None  # a folder of videos (NAME.txt captions beside them): the heads' real side (ours)
    real_shapes: int = 0  # or this many rendered Shapes-world clips as the heads' real side (the miniature's videos)
    dmd: float = 0.0  # weight of distribution matching at the student's clean output (ours, distill/dmd.py); 0: off
    lr_fake: float = 2e-4  # AdamW lr of its fake score model
    disc_features: Literal["teacher", "latent"] = "teacher"  # what H_k reads: the frozen teacher's features (Eq. 8),
    #                                                        or the latent itself (ours: the VAE's resolution)

    def __post_init__(self):
        import math

        from accvideo import validation
        from accvideo.training.state import check_choices

        for name in ("iters", "batch_size", "grad_accum", "queue_capacity", "checkpoint_every", "threads",
                     "disc_steps", "onpolicy_steps"):
            validation.whole(name, getattr(self, name), low=1)
        validation.seed("seed", self.seed)
        if self.student_steps is not None and self.student_steps < 1:
            raise ValueError(f"student_steps must be at least 1, got {self.student_steps}")
        if self.holdout < 0 or self.eval_every < 0:
            raise ValueError(f"holdout and eval_every must be >= 0, got {self.holdout} and {self.eval_every}")
        if self.holdout and self.data_kind != "synvid":
            raise ValueError("--holdout reads SynVid samples; the real-data baseline has none")
        if self.exclude and self.data_kind != "synvid":
            raise ValueError("--exclude names SynVid samples; the real-data baseline has none")
        if self.paraphrases and self.data_kind != "synvid":
            raise ValueError("--paraphrases names SynVid samples; the real-data baseline has none")
        if not 0 <= self.paraphrase_prob <= 1:
            raise ValueError(f"paraphrase_prob must be in [0, 1], got {self.paraphrase_prob}")
        if self.onpolicy and (self.data_kind != "synvid" or not self.uses_adv):
            raise ValueError("--onpolicy reads the student's latents from the queues: it needs SynVid data and "
                             "the adversarial loss (not --no-adv)")
        if self.onpolicy_guidance is not None and not self.onpolicy:  # keys may stay (a recipe's) with the term off
            raise ValueError("--onpolicy-guidance sets the on-policy term: pass --onpolicy W too")
        if self.onpolicy_guidance is not None and not (math.isfinite(self.onpolicy_guidance)
                                                       and self.onpolicy_guidance >= 1):
            raise ValueError(f"onpolicy_guidance must be a finite CFG scale >= 1 (1: no guidance), "
                             f"got {self.onpolicy_guidance}")
        if any(k < 0 for k in self.onpolicy_keys) or len(set(self.onpolicy_keys)) < len(self.onpolicy_keys):
            raise ValueError(f"onpolicy_keys must be distinct key intervals k >= 0, got {list(self.onpolicy_keys)}")
        if self.real_videos and self.real_shapes:
            raise ValueError("--real-videos and --real-shapes both name the real clips: pass one")
        if self.real_shapes < 0:
            raise ValueError(f"real_shapes must be >= 0, got {self.real_shapes}")
        if self.uses_real and (self.data_kind != "synvid" or not self.uses_adv):
            raise ValueError("real clips are the heads' real side: they need SynVid data and the adversarial loss "
                             "(not --no-adv)")
        if self.dmd and (self.data_kind != "synvid" or not self.uses_adv):
            raise ValueError("--dmd reads the student's clean outputs from the queues: it needs SynVid data and the "
                             "adversarial loss (not --no-adv)")
        if self.eval_every and not self.holdout:
            raise ValueError("eval_every needs held-out samples: pass --holdout N (e.g. 16)")
        if self.disc_steps > 1 and self.data_kind != "synvid":
            raise ValueError("--disc-steps above 1 reads extra SynVid samples; the real-data baseline has none")
        if self.lora_rank < 0:
            raise ValueError(f"lora_rank must be 0 (all weights) or a rank >= 1, got {self.lora_rank}")
        for name in ("lambda_adv", "onpolicy", "dmd"):
            validation.number(name, getattr(self, name), low=0.0)
        for name in ("lr", "lr_heads", "lr_fake", "max_loss"):  # 0 would train nothing, or stop at the first step
            validation.number(name, getattr(self, name), above=0.0)
        validation.number("max_rise", self.max_rise, above=1.0)  # a rise factor <= 1 stops at the first step
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        check_choices(self)
        if self.data_kind == "real" and self.schedule != "accvideo":
            raise ValueError("the real-data baseline uses the accvideo key timesteps")

    def resume_conflicts(self, saved: dict, identity: dict | None = None) -> list[str]:
        """Fields of a run's saved config that a resumed run may not change (its optimiser state, data and
        schedule came from them); the length and bookkeeping fields may change, and so may where the run folder
        is. A path is compared by what it names (`identity`, this run's accvideo.validation.path_identity of
        each path field, against the one saved when the run started), not by how it was typed."""
        free = {"iters", "stop_at", "threads", "checkpoint_every", "sample_every", "max_loss", "max_rise", "eval_every",
                "out"}
        mine = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}  # JSON keeps lists
        recorded, identity = saved.get("identity") or {}, identity or {}

        def same(key: str, value) -> bool:
            if key in recorded and key in identity:
                return recorded[key] == identity[key]
            return saved[key] == value  # a run saved before identities were recorded

        return sorted(k for k, v in mine.items() if k not in free and k in saved and not same(k, v))

    @property
    def uses_adv(self) -> bool:
        return self.mode in ("full", "adv")

    @property
    def uses_real(self) -> bool:
        """Whether the heads' real side is real clips (--real-videos / --real-shapes) instead of SynVid."""
        return bool(self.real_videos or self.real_shapes)

    @property
    def uses_traj(self) -> bool:
        return self.mode in ("full", "traj")
