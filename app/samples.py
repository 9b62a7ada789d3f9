"""Ready-made inputs: the sample prompts and first frames in assets/samples, and first frames from the Shapes world."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accvideo.pipeline import ASSETS
from accvideo.shapes import canonical_caption, random_spec, render, split_seeds

SAMPLES = ASSETS / "samples"
SHAPES_CLIPS = 1000  # how many eval-split clips the Shapes picker offers (index 0 .. SHAPES_CLIPS - 1)


@dataclass(frozen=True)
class I2VSample:
    """One image-to-video example: the prompt, its seed and the first frame's PNG."""

    prompt: str
    seed: int
    image: Path


def t2v_samples(folder: Path = SAMPLES) -> list[tuple[str, int]]:
    """(prompt, seed) from prompts.txt, one per non-empty line, seed = line index (as `accvideo generate`)."""
    path = folder / "prompts.txt"
    if not path.is_file():
        return []
    prompts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(prompt, seed) for seed, prompt in enumerate(prompts)]


def i2v_samples(folder: Path = SAMPLES) -> list[I2VSample]:
    """The examples of i2v.jsonl whose image exists; images are relative to the file."""
    path = folder / "i2v.jsonl"
    if not path.is_file():
        return []
    samples = []
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        record = json.loads(line)
        image = folder / record["image"]
        if image.is_file():
            samples.append(I2VSample(record["prompt"], int(record.get("seed", index)), image))
    return samples


def shapes_first_frame(index: int, height: int = 64, width: int = 64,
                       frames: int = 17) -> tuple[np.ndarray, str, int]:
    """Frame 0 (H, W, 3) uint8 of the index-th eval-split clip with one object, its canonical caption and seed."""
    if not 0 <= index < SHAPES_CLIPS:
        raise ValueError(f"Shapes world clip # must be from 0 to {SHAPES_CLIPS - 1}, got {index}")
    seed = split_seeds("eval", 1, offset=index)[0]
    spec = random_spec(seed, height, width, frames, n_objects=1)
    return render(spec)[0], canonical_caption(spec), seed
