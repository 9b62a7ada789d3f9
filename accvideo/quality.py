"""Quality of a generator in the Shapes world, judged from pixels on eval-seed prompts.

T2V: how often the clip judge reads the prompt's colour, shape and motion (and size, background) back.
I2V: frame-0 PSNR against the given first frame, and how often the motion is right.
Both: shape fidelity (accvideo.shapes.outline), beside its ceiling: the rendered clips through the model's VAE.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from accvideo.evaluation.judging import generate_and_judge
from accvideo.shapes import caption, random_spec, render, split_seeds
from accvideo.shapes.judge import (BAR_ATTRIBUTES, attribute_rates, attribute_report, judge_clip, psnr,
                                   shape_misreads)
from accvideo.shapes.outline import shape_fidelity
from accvideo.shapes.spec import BASE_SIZE

ATTRIBUTES = ("colour", "shape", "motion", "size", "background")  # what measure() reports


@dataclass
class EvalPrompt:
    """One eval prompt: its seed (spec and noise), spec, caption and first frame."""

    seed: int
    spec: object
    prompt: str
    first_frame: np.ndarray


def eval_prompts(n: int, offset: int = 0, n_objects: int | None = 1, size: int = BASE_SIZE,
                 style: str | None = None) -> list[EvalPrompt]:
    """n eval-seed prompts (single-object by default) at size x size, with the rendered first frame for I2V.

    style: 'canonical' or 'fine' captions for all, or None for the world's own mix.
    """
    out = []
    for seed in split_seeds("eval", n, offset):
        spec = random_spec(seed, height=size, width=size, n_objects=n_objects)
        out.append(EvalPrompt(seed, spec, caption(spec, seed, style), render(spec)[0]))
    return out


def measure(generator, prompts: list[EvalPrompt], steps: int | None, task: str, guidance: float | None = None,
            batch_size: int = 20, desc: str = "eval") -> dict:
    """Generate every prompt and judge it; returns rates in [0, 1], for I2V frame-0 PSNR in dB, and how often each
    shape was misread ("shape_misread": {"circle as square": count, ...}), and the mean shape fidelity."""
    def score(i: int, clip: np.ndarray) -> dict:
        p = prompts[i]
        judged = judge_clip(clip)
        row = {"report": attribute_report(judged, p.spec), "misreads": shape_misreads(judged, p.spec),
               "outline": shape_fidelity(clip, p.spec)}
        if task == "i2v":
            row["psnr"] = psnr(clip[0], p.first_frame)
        return row

    with tqdm(total=len(prompts), desc=desc, unit="clip") as bar:
        run = generate_and_judge(generator, prompts, task, score, steps, guidance, batch_size, on_batch=bar.update)
    rates = attribute_rates([r["report"] for r in run.rows], ATTRIBUTES, all_of=BAR_ATTRIBUTES)
    figures = {f"{a}_right": rates[a] for a in ATTRIBUTES}
    figures["all_three_right"] = rates["all"]
    figures["shape_fidelity"] = float(np.nanmean([r["outline"] for r in run.rows]))
    figures["seconds_per_clip"] = run.seconds / len(prompts)
    figures["nfe"] = run.nfe
    figures["clips"] = len(prompts)
    misreads = Counter(m for r in run.rows for m in r["misreads"])
    figures["shape_misread"] = dict(sorted(misreads.items(), key=lambda kv: (-kv[1], kv[0])))
    if task == "i2v":
        finite = np.minimum(np.array([r["psnr"] for r in run.rows]), 100.0)
        figures["frame0_psnr_db"] = float(np.mean(finite))
    return figures


def fidelity_ceiling(backbone, prompts: list[EvalPrompt], batch_size: int = 20) -> float:
    """Mean shape fidelity of the prompts' rendered clips passed through the backbone's VAE (encode, decode): the
    best a model decoding with that VAE can reach."""
    scores = []
    for i in range(0, len(prompts), batch_size):
        chunk = prompts[i : i + batch_size]
        clips = backbone.decode(backbone.encode_video(np.stack([render(p.spec) for p in chunk])))  # (b, F, H, W, 3)
        scores += [shape_fidelity(clip, p.spec) for clip, p in zip(clips, chunk)]
    return float(np.nanmean(scores))
