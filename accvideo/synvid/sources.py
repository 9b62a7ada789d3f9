"""What SynVid generates: one request per sample, from the Shapes world or a prompts file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accvideo import validation
from accvideo.shapes import caption, random_spec, render, split_seeds


@dataclass(frozen=True)
class SampleRequest:
    """Sample i of a dataset: its prompt, its noise seed, for I2V the first frame (H, W, 3) uint8, and for a set
    of real clips the clip itself (F, H, W, 3) uint8."""

    index: int
    prompt: str
    seed: int
    image: np.ndarray | None = None
    clip: np.ndarray | None = None

    @property
    def task(self) -> str:
        return "t2v" if self.image is None else "i2v"


def noise_seed(base_seed: int, index: int) -> int:
    """Sample i's noise seed depends only on (base seed, i)."""
    return int(np.random.SeedSequence([base_seed, index]).generate_state(1, dtype=np.uint32)[0])


def shapes_requests(n: int, base_seed: int, i2v_fraction: float, height: int, width: int, frames: int,
                    seed_offset: int = 0, with_clips: bool = False) -> list[SampleRequest]:
    """n samples drawn from the Shapes world's training seeds; a seeded i2v_fraction of them image-to-video;
    `with_clips`: each with its rendered clip (a set of real clips)."""
    if not 0.0 <= i2v_fraction <= 1.0:
        raise ValueError(f"--i2v-fraction must be in [0, 1], got {i2v_fraction}")
    pick = np.random.default_rng([base_seed, 2]).uniform(size=n) < i2v_fraction
    out = []
    for i, world_seed in enumerate(split_seeds("train", n, seed_offset)):
        spec = random_spec(world_seed, height, width, frames)
        clip = render(spec)  # (F, H, W, 3)
        out.append(SampleRequest(i, caption(spec, world_seed), noise_seed(base_seed, i), clip[0] if pick[i] else None,
                                 clip if with_clips else None))
    return out


def file_requests(path: str | Path, base_seed: int, height: int, width: int) -> list[SampleRequest]:
    """Samples from a .txt (one prompt a line) or .jsonl (prompt, optional seed, optional image) file; every
    line and image is checked (accvideo.validation) before the first is used."""
    from accvideo.video import read_image

    path = validation.input_file(path, "prompts file")
    lines = [(n, ln) for n, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ln.strip()]
    out = []
    for i, (lineno, line) in enumerate(lines):
        if path.suffix == ".jsonl":
            record = validation.prompt_line(line, f"{path}:{lineno}")
            image = None
            if record["image"]:
                image = read_image(validation.clip_image(path.parent / record["image"], height, width))
            seed = noise_seed(base_seed, i) if record["seed"] is None else record["seed"]
            out.append(SampleRequest(i, record["prompt"], seed, image))
        else:
            out.append(SampleRequest(i, line.strip(), noise_seed(base_seed, i)))
    if not out:
        raise ValueError(f"no prompts in {path}")
    return out
