"""Generate a SynVid dataset on one process or many (accelerate), resumable and bit-reproducible on CPU.

Sample ids are split into shards of `shard_size`, shard k goes to rank k mod world_size, and each
shard is filled in fixed batches of `batch_size` consecutive ids. Batches are therefore the same
whatever the number of processes or interruptions, and so are the tensors.
"""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

import torch
from tqdm.auto import tqdm

from accvideo import validation
from accvideo.schedules import STUDENT_STEPS, TEACHER_STEPS, flow_sigmas
from accvideo.settings import DEFAULT_BACKBONE
from accvideo.synvid.record import kept_indices, record_batch, record_clean
from accvideo.synvid.sources import SampleRequest
from accvideo.synvid.store import SETTINGS, SynVidStore, sample_checksum, write_json


@dataclass
class SynVidSettings:
    """Everything that defines a SynVid dataset; a resumed run must match it exactly."""

    teacher: str  # teacher folder, as given
    teacher_sha256: str  # hash of its weights: the teacher's identity
    source: str  # where the prompts came from: "shapes:N:i2v=p" or the prompts file's sha256
    samples: int  # number of samples
    base_seed: int  # sample i's noise depends only on (base_seed, i)
    teacher_steps: int  # n
    student_steps: int  # m
    guidance: float  # CFG scale of the teacher
    shift: float  # flow shift of the teacher's grid
    keep: str  # "key" (m + 1 latents), "all" (n + 1), or "clean" (a set of real clips: their latents at sigma 0)
    height: int
    width: int
    frames: int
    shard_size: int  # samples per shard
    batch_size: int  # samples per teacher batch (fixed, so results do not depend on the process count)
    backbone: str = DEFAULT_BACKBONE  # the teacher's backbone: how the stored conditioning is read back
    architecture: str | None = None  # the teacher transformer's diffusers class (None: WanTransformer3DModel)
    sigmas: list[float] | None = None  # the kept sigmas (filled in)
    kept_indices: list[int] | None = None  # their indices in the n-step grid (filled in)

    def __post_init__(self):
        self.check_numbers()
        if self.shard_size % self.batch_size:
            raise ValueError(f"shard size {self.shard_size} must be a multiple of the batch size {self.batch_size}")
        idx = kept_indices(self.teacher_steps, self.student_steps, self.keep)
        self.kept_indices = idx
        self.sigmas = [float(s) for s in flow_sigmas(self.teacher_steps, self.shift)[idx]]

    def check_numbers(self) -> None:
        """Every number through the shared validation layer (a NaN guidance would reach synvid.json otherwise)."""
        validation.seed("base_seed", self.base_seed)
        validation.steps("teacher_steps", self.teacher_steps)
        validation.whole("student_steps", self.student_steps, 1, self.teacher_steps)
        validation.guidance("guidance", self.guidance)
        validation.number("shift", self.shift, above=0.0)
        for name in ("samples", "height", "width", "frames", "shard_size", "batch_size"):
            validation.whole(name, getattr(self, name), low=1)

    @classmethod
    def from_teacher(cls, teacher, source: str, samples: int, base_seed: int = 0, *,
                     teacher_steps: int = TEACHER_STEPS, student_steps: int = STUDENT_STEPS,
                     guidance: float | None = None, keep: str = "key", height: int | None = None,
                     width: int | None = None, frames: int | None = None, shard_size: int = 256,
                     batch_size: int = 16, teacher_sha256: str | None = None) -> SynVidSettings:
        """The settings of a SynVid recorded from a teacher ModelFolder: its shift, backbone and architecture, and
        by default its CFG scale and clip size; the weights' hash is computed unless given."""
        st = teacher.settings
        height, width, frames = st.clip_size(height, width, frames)
        return cls(teacher=teacher.given, teacher_sha256=teacher_sha256 or weights_sha256(teacher.transformer_dir),
                   source=source, samples=samples, base_seed=base_seed, teacher_steps=teacher_steps,
                   student_steps=student_steps, guidance=st.guidance if guidance is None else guidance,
                   shift=st.shift, keep=keep, height=height, width=width, frames=frames,
                   shard_size=shard_size, batch_size=batch_size, backbone=teacher.name,
                   architecture=teacher.transformer_config()["_class_name"])

    @property
    def n_shards(self) -> int:
        return (self.samples + self.shard_size - 1) // self.shard_size


def weights_sha256(folder: str | Path) -> str:
    """sha256 over a model folder's safetensors files (its weights' identity)."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.safetensors")):
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def teacher_identity(backbone: str, architecture: str | None, sha256: str) -> str:
    """A teacher in words: backbone, transformer class and the start of its weights' hash."""
    return f"{backbone}, {architecture or 'WanTransformer3DModel'}, weights sha256 {sha256[:12]}"


def teacher_mismatch(settings: dict, teacher) -> str | None:
    """Why the ModelFolder `teacher` is not the teacher that recorded a SynVid (its synvid.json `settings`):
    both described, or None when backbone, architecture and weights' hash all match. Reads configs and hashes
    the weights; loads nothing."""
    recorded = (settings.get("backbone", DEFAULT_BACKBONE), settings.get("architecture") or "WanTransformer3DModel",
                settings.get("teacher_sha256", ""))
    mine = (teacher.name, teacher.transformer_config().get("_class_name"), weights_sha256(teacher.transformer_dir))
    if recorded == mine or not recorded[2]:
        return None
    return (f"recorded by the teacher {settings.get('teacher')} ({teacher_identity(*recorded)}), not by "
            f"{teacher.given} ({teacher_identity(*mine)})")


def check_target(store: SynVidStore, settings: SynVidSettings, resume: bool) -> None:
    """Refuse to mix datasets: an existing folder must hold the same dataset, and --resume must be given."""
    existing = store.settings()
    if existing is None:
        if any(store.root.glob("shards/*")) or any(store.root.glob("pending/*")):
            raise FileExistsError(f"{store.root} holds shards but no {SETTINGS}: not a SynVid folder to resume")
        if store.root.is_dir() and any(p.name != f"{SETTINGS}.tmp" for p in store.root.iterdir()):
            raise FileExistsError(f"{store.root} is not empty and not a SynVid folder: choose a new or empty --out")
        return
    wanted = asdict(settings)
    defaults = {f.name: f.default for f in fields(SynVidSettings) if f.default is not MISSING}  # keys added later
    diff = sorted(k for k in wanted if existing.get(k, defaults.get(k)) != wanted[k])
    if diff:
        raise FileExistsError(f"{store.root} already holds a different SynVid dataset (differs in: {', '.join(diff)})")
    if not resume:
        raise FileExistsError(f"{store.root} already holds this dataset: pass --resume to continue it")


def _fill_shard(generator, store: SynVidStore, settings: SynVidSettings, requests: list[SampleRequest], k: int,
                bar) -> None:
    ids = list(range(k * settings.shard_size, min((k + 1) * settings.shard_size, settings.samples)))
    samples: list[dict[str, torch.Tensor]] = []
    for start in range(0, len(ids), settings.batch_size):
        chunk_ids = ids[start : start + settings.batch_size]
        chunk = store.read_chunk(chunk_ids[0], len(chunk_ids))
        if chunk is None:
            batch = [requests[i] for i in chunk_ids]
            if settings.keep == "clean":  # a set of real clips: encoded, no teacher run
                chunk = record_clean(generator, batch, settings.frames)
            else:
                chunk = record_batch(generator, batch, settings.teacher_steps, settings.student_steps,
                                     settings.guidance, settings.shift, settings.keep, settings.height,
                                     settings.width, settings.frames)
            store.write_chunk(chunk_ids[0], chunk)
        samples += chunk
        bar.update(len(chunk_ids))
    records = [{"id": i, "prompt": requests[i].prompt, "seed": requests[i].seed, "task": requests[i].task,
                "shard": store.shard_path(k).name, "sha256": sample_checksum(s)} for i, s in zip(ids, samples)]
    store.write_shard(k, ids, samples, records)


def generate_synvid(generator, requests: list[SampleRequest], settings: SynVidSettings, out: str | Path,
                    resume: bool = False) -> Path:
    """Record every request's trajectory into `out`; this process's share when run under accelerate."""
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    store = SynVidStore(out)
    if len(requests) != settings.samples:
        raise ValueError(f"{len(requests)} requests for {settings.samples} samples")
    if state.is_main_process:
        check_target(store, settings, resume)
        store.clean_temporaries()
        write_json(store.root / SETTINGS, asdict(settings))
    state.wait_for_everyone()
    if store.is_complete():
        return store.root
    mine = [k for k in range(settings.n_shards) if k % state.num_processes == state.process_index]
    todo = [k for k in mine if not store.shard_intact(k)]
    total = sum(min(settings.shard_size, settings.samples - k * settings.shard_size) for k in mine)
    bar = tqdm(total=total, initial=total - sum(min(settings.shard_size, settings.samples - k * settings.shard_size)
                                                 for k in todo),
               desc=f"synvid rank {state.process_index}", unit="sample", disable=not state.is_local_main_process)
    for k in todo:
        _fill_shard(generator, store, settings, requests, k, bar)
    bar.close()
    state.wait_for_everyone()
    if state.is_main_process:
        missing = [k for k in range(settings.n_shards) if not store.shard_done(k)]
        if missing:
            raise RuntimeError(f"shards {missing} are missing after generation")
        store.finish(settings.n_shards)
    state.wait_for_everyone()
    return store.root
