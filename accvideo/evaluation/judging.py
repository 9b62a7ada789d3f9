"""The one generate-and-judge loop: every eval prompt through a generator in batches, each clip scored as it comes.

The quality bar (`accvideo.quality.measure`, and through it the in-run proxy) and `accvideo eval`
(`accvideo.evaluation.runner`) both run it; they differ only in what they score per clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Judged:
    """What one pass over the prompts gave: a row per clip (in prompt order) and the cost."""

    rows: list[dict] = field(default_factory=list)  # score(...) of each clip
    seconds: float = 0.0  # wall seconds of every stage (text encoding, denoising, decoding), summed over batches
    model_seconds: float = 0.0  # denoising and decoding only, summed over batches
    nfe: int = 0  # model evaluations per clip
    clips: list[np.ndarray] = field(default_factory=list)  # the clips (F, H, W, 3), when kept


def generate_and_judge(generator, prompts: list, task: str, score: Callable[[int, np.ndarray], dict],
                       steps: int | None = None, guidance: float | None = None, batch_size: int = 20,
                       at_spec_size: bool = False, keep_clips: bool = False,
                       on_batch: Callable[[int], None] | None = None) -> Judged:
    """Generate every prompt (EvalPrompt: prompt, seed, spec, first_frame) for `task` and score each clip.

    score(i, clip) gets the prompt's index and its clip (F, H, W, 3) and returns that clip's row. I2V starts from
    each prompt's first frame. at_spec_size generates at the prompts' spec size instead of the model's own;
    on_batch(n) is told after each batch of n clips (a progress bar).
    """
    judged = Judged()
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        images = np.stack([p.first_frame for p in chunk]) if task == "i2v" else None  # (b, H, W, 3)
        size = dict(height=chunk[0].spec.height, width=chunk[0].spec.width) if at_spec_size else {}
        out = generator([p.prompt for p in chunk], [p.seed for p in chunk], steps=steps, guidance=guidance,
                        images=images, **size)
        judged.seconds += out.timings.total
        judged.model_seconds = judged.model_seconds + out.timings.denoise + out.timings.decode
        judged.nfe = out.nfe
        for i, clip in enumerate(out.frames):  # clip (F, H, W, 3)
            judged.rows.append(score(start + i, clip))
            if keep_clips:
                judged.clips.append(clip)
        if on_batch is not None:
            on_batch(len(chunk))
    return judged
