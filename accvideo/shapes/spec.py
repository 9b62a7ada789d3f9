"""The Shapes world's contract (shared/spec/shapes-world.md): palette, sizes, motions, specs, splits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FRAMES = 17  # 1 + 4k, as causal video VAEs expect
FPS = 8
BASE_SIZE = 64  # every pixel length below is for 64 x 64 and scales by size / 64
MIN_SIZE, MAX_SIZE, SIZE_STEP = 32, 256, 16

BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "navy": (20, 30, 90),
}
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 190, 70),
    "blue": (40, 90, 240),
    "yellow": (245, 215, 40),
    "magenta": (220, 50, 210),
    "cyan": (40, 215, 225),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
}
SHAPES = ("circle", "square", "triangle")
SIZES: dict[str, int] = {"small": 6, "large": 11}  # radius r in px at 64 x 64
MOTIONS = ("left", "right", "up", "down", "still")
MOTION_DIRECTIONS: dict[str, tuple[int, int]] = {  # unit (dx, dy) in image coordinates, y down
    "left": (-1, 0),
    "right": (1, 0),
    "up": (0, -1),
    "down": (0, 1),
    "still": (0, 0),
}
TRAVEL = 28.0  # px the centre moves over the whole clip
MOVING_JITTER = 8.0  # px: a moving path's midpoint lies within this of the frame centre
STILL_JITTER = 12.0  # px: a still object lies within this of the frame centre
TWO_OBJECT_PROBABILITY = 0.3

# Splits are by seed: training and evaluation never share one.
TRAIN_SEEDS = range(0, 1_000_000)
EVAL_SEEDS = range(1_000_000, 2_000_000)


@dataclass(frozen=True)
class ObjectSpec:
    """One object: what it is, and the midpoint (x, y) of its path in pixels of the clip."""

    shape: str  # one of SHAPES
    colour: str  # one of COLOURS
    size: str  # one of SIZES
    motion: str  # one of MOTIONS
    mid: tuple[float, float]  # path midpoint (x, y), pixel coordinates of the clip


@dataclass(frozen=True)
class ClipSpec:
    """A whole clip: background, one or two objects, and its geometry."""

    background: str
    objects: tuple[ObjectSpec, ...]
    height: int = BASE_SIZE
    width: int = BASE_SIZE
    frames: int = FRAMES
    seed: int | None = field(default=None, compare=False)  # the seed it was drawn from, if any

    @property
    def scale(self) -> float:
        """Pixel lengths scale by size / 64 (the smaller side for non-square clips)."""
        return min(self.height, self.width) / BASE_SIZE


def check_geometry(height: int, width: int, frames: int) -> None:
    """Raise ValueError unless the clip geometry is one the world defines."""
    for name, value in (("height", height), ("width", width)):
        if not (MIN_SIZE <= value <= MAX_SIZE and value % SIZE_STEP == 0):
            raise ValueError(f"{name} must be a multiple of {SIZE_STEP} from {MIN_SIZE} to {MAX_SIZE}, got {value}")
    if frames < 1 or (frames - 1) % 4:
        raise ValueError(f"frames must be 1 + 4k (1, 5, 9, 13, 17, ...), got {frames}")


def object_radius(obj: ObjectSpec, scale: float) -> int:
    """The size radius r of an object in pixels at a given scale."""
    return int(round(SIZES[obj.size] * scale))


def object_centre(obj: ObjectSpec, frame: int, frames: int, scale: float) -> tuple[float, float]:
    """The centre (x, y) of an object at a frame: constant speed, TRAVEL px over the clip."""
    progress = frame / max(frames - 1, 1) - 0.5  # -0.5 at the first frame, +0.5 at the last
    dx, dy = MOTION_DIRECTIONS[obj.motion]
    travel = TRAVEL * scale
    return obj.mid[0] + dx * travel * progress, obj.mid[1] + dy * travel * progress


def _disk_jitter(rng: np.random.Generator, radius: float) -> np.ndarray:
    """A point drawn uniformly from the disk of the given radius."""
    angle = rng.uniform(0, 2 * math.pi)
    dist = radius * math.sqrt(rng.uniform(0, 1))
    return np.array([dist * math.cos(angle), dist * math.sin(angle)])


def _draw_object(rng: np.random.Generator, colour: str, mid: tuple[float, float]) -> ObjectSpec:
    return ObjectSpec(
        shape=str(rng.choice(SHAPES)),
        colour=colour,
        size=str(rng.choice(list(SIZES))),
        motion=str(rng.choice(MOTIONS)),
        mid=mid,
    )


def random_spec(
    seed: int,
    height: int = BASE_SIZE,
    width: int = BASE_SIZE,
    frames: int = FRAMES,
    n_objects: int | None = None,
) -> ClipSpec:
    """Draw a clip spec from an explicit seed; n_objects forces 1 or 2 (default: 70 % / 30 %)."""
    check_geometry(height, width, frames)
    rng = np.random.default_rng(seed)
    scale = min(height, width) / BASE_SIZE
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    if n_objects is None:
        n_objects = 2 if rng.uniform() < TWO_OBJECT_PROBABILITY else 1
    if n_objects not in (1, 2):
        raise ValueError(f"n_objects must be 1 or 2, got {n_objects}")
    background = str(rng.choice(list(BACKGROUNDS)))
    colours = rng.choice(list(COLOURS), size=n_objects, replace=False)
    if n_objects == 1:
        obj = _draw_object(rng, str(colours[0]), (0.0, 0.0))
        jitter = (STILL_JITTER if obj.motion == "still" else MOVING_JITTER) * scale
        mid = centre + _disk_jitter(rng, jitter)
        objects = (_with_mid(obj, mid),)
    else:
        first = _draw_object(rng, str(colours[0]), (0.0, 0.0))
        second = _draw_object(rng, str(colours[1]), (0.0, 0.0))
        objects = _offset_pair(rng, first, second, centre, scale)
    return ClipSpec(background, objects, height, width, frames, seed=seed)


def _with_mid(obj: ObjectSpec, mid: np.ndarray) -> ObjectSpec:
    return ObjectSpec(obj.shape, obj.colour, obj.size, obj.motion, (float(mid[0]), float(mid[1])))


def _offset_pair(
    rng: np.random.Generator, first: ObjectSpec, second: ObjectSpec, centre: np.ndarray, scale: float
) -> tuple[ObjectSpec, ObjectSpec]:
    """Offset two paths across the first object's motion so the objects do not overlap at mid-clip."""
    dx, dy = MOTION_DIRECTIONS[first.motion]
    if (dx, dy) == (0, 0):
        dx, dy = MOTION_DIRECTIONS[second.motion]
    if (dx, dy) == (0, 0):
        axis = np.array([1.0, 0.0]) if rng.uniform() < 0.5 else np.array([0.0, 1.0])
    else:
        axis = np.array([float(abs(dy)), float(abs(dx))])  # perpendicular to the motion
    gap = (SIZES[first.size] + SIZES[second.size] + 4) * scale  # bounding boxes apart by >= 3 px
    sign = 1.0 if rng.uniform() < 0.5 else -1.0
    shift = _disk_jitter(rng, 4 * scale)
    mid_a = centre + shift - sign * axis * gap / 2
    mid_b = centre + shift + sign * axis * gap / 2
    return _with_mid(first, mid_a), _with_mid(second, mid_b)


def split_of(seed: int) -> str:
    """'train' or 'eval', by the seed's range."""
    if seed in TRAIN_SEEDS:
        return "train"
    if seed in EVAL_SEEDS:
        return "eval"
    raise ValueError(f"seed {seed} is in neither split")


def split_seeds(split: str, n: int, offset: int = 0) -> list[int]:
    """The first n seeds of a split (after offset)."""
    seeds = {"train": TRAIN_SEEDS, "eval": EVAL_SEEDS}[split]
    if offset + n > len(seeds):
        raise ValueError(f"the {split} split has only {len(seeds)} seeds")
    return list(seeds[offset : offset + n])
