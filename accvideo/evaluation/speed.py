"""Seconds per clip of generation, split into text / denoise / decode, for model specs side by side in one run.

The analogue of the paper's Table 2: every spec runs the same prompts in one process after a warm-up,
one clip at a time, with text encoding timed cold (its cache cleared), as a new prompt would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from accvideo.evaluation.specs import ModelSpec
from accvideo.quality import EvalPrompt

PARTS = ("text", "denoise", "decode", "total")


@dataclass
class SpeedRow:
    """Mean seconds per clip of one spec, and its ratios against the reference spec (reference / this)."""

    spec: str
    nfe: int
    seconds: dict[str, float]  # part -> mean seconds per clip
    speedup: dict[str, float]  # part -> reference seconds / these seconds (1.0 for the reference itself)


def time_spec(generator, spec: ModelSpec, prompts: list[EvalPrompt]) -> tuple[int, dict[str, float]]:
    """Generate each prompt alone with one spec; its NFE and mean seconds per part."""
    generator([prompts[0].prompt], [prompts[0].seed], steps=spec.steps)  # warm-up
    runs = []
    for p in tqdm(prompts, desc=f"time {spec.text}", leave=False):
        generator.text_encoder.clear_cache()
        runs.append(generator([p.prompt], [p.seed], steps=spec.steps))
    return runs[0].nfe, {part: float(np.mean([getattr(r.timings, part) for r in runs])) for part in PARTS}


def speed_table(specs: list[ModelSpec], generators: dict, prompts: list[EvalPrompt],
                reference: ModelSpec | None = None) -> list[SpeedRow]:
    """Time every spec on the same prompts; ratios are against `reference` (default: the first spec)."""
    reference = reference or specs[0]
    timed = {s.text: time_spec(generators[s.folder.resolve()], s, prompts) for s in specs}
    ref = timed[reference.text][1]
    return [SpeedRow(s.text, nfe, secs, {part: ref[part] / secs[part] for part in PARTS})
            for s, (nfe, secs) in ((s, timed[s.text]) for s in specs)]
