"""What defines a SynVid dataset: its settings (synvid.json), written by a run and read back as the same dataclass."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from accvideo import validation
from accvideo.schedules import STUDENT_STEPS, TEACHER_STEPS, flow_sigmas, key_indices
from accvideo.settings import DEFAULT_BACKBONE

SIGMA_TOLERANCE = 1e-12  # a stored sigma may differ from the recomputed one by float64 rounding, no more


class SynVidError(ValueError):
    """A SynVid folder that is incomplete, corrupt or inconsistent; the message names the file."""


def kept_indices(teacher_steps: int, student_steps: int, keep: str) -> list[int]:
    """Which points of the n + 1 point trajectory are stored: the m + 1 key ones, all, or (a set of real clips,
    "clean") only the last, sigma 0."""
    if keep == "key":
        return key_indices(teacher_steps, student_steps)
    if keep == "all":
        return list(range(teacher_steps + 1))
    if keep == "clean":
        return [teacher_steps]
    raise ValueError(f"--keep must be key or all, got {keep!r}")


def weights_sha256(folder: str | Path) -> str:
    """sha256 over a model folder's safetensors files (its weights' identity)."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.safetensors")):
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def same_sigmas(stored, computed: list[float]) -> bool:
    """Whether a synvid.json's stored sigmas are the computed ones, up to float64 rounding."""
    return (isinstance(stored, list) and len(stored) == len(computed)
            and all(isinstance(s, (int, float)) and math.isclose(s, c, rel_tol=0.0, abs_tol=SIGMA_TOLERANCE)
                    for s, c in zip(stored, computed)))


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

    @classmethod
    def from_json(cls, saved: dict, path: Path) -> SynVidSettings:
        """The settings in a synvid.json (`saved`, read from `path`) as any version wrote them: fields added since
        (backbone, architecture) take their defaults, the stored sigmas are kept. SynVidError naming the file for
        a key no version wrote, a missing or bad value, or kept indices and sigmas other than the settings give."""
        unknown, missing = validation.saved_fields(cls, saved)
        if unknown:
            raise SynVidError(f"{path}: not SynVid settings (unknown {', '.join(unknown)})")
        if missing:
            raise SynVidError(f"{path}: not SynVid settings (no {', '.join(missing)})")
        try:
            settings = cls(**{k: v for k, v in saved.items() if k not in ("sigmas", "kept_indices")})
        except (TypeError, ValueError) as err:
            raise SynVidError(f"{path}: {err}") from err
        stored = saved.get("sigmas", settings.sigmas)
        same_indices = saved.get("kept_indices", settings.kept_indices) == settings.kept_indices
        if not (same_indices and same_sigmas(stored, settings.sigmas)):
            raise SynVidError(f"{path}: its kept_indices or sigmas are not the ones its settings give "
                              "(a corrupt or foreign file)")
        settings.sigmas = [float(s) for s in stored]  # as recorded, to the last bit
        return settings

    @property
    def n_shards(self) -> int:
        return (self.samples + self.shard_size - 1) // self.shard_size
