"""Run an evaluation: generate every eval prompt with every model spec and task, and score the clips.

Each distinct model folder loads once; all share one text encoder, and folders that name the same
VAE share it too. Clip i of every spec starts from the same noise (seed = the prompt's eval seed), so
a spec's clips compare one to one with the reference's (teacher@50) for teacher fidelity.
Seconds per clip count denoising and decoding after a warm-up call; text encoding, the same for every
model and cached across them, is left out.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from accvideo.evaluation.fidelity import capped_psnr, teacher_fidelity
from accvideo.evaluation.frechet import clip_features, frechet_distance
from accvideo.evaluation.judging import generate_and_judge
from accvideo.evaluation.metrics import (ATTRIBUTES, attribute_rates, edge_energy, sharpness, subject_consistency,
                                         temporal_flicker)
from accvideo.evaluation.reading import read_pixels
from accvideo.evaluation.specs import ModelSpec
from accvideo.pipeline import VideoGenerator
from accvideo.quality import EvalPrompt
from accvideo.shapes import render
from accvideo.shapes.judge import attribute_report, judge_clip
from accvideo.shapes.outline import shape_fidelity

TASKS = ("t2v", "i2v")
PER_CLIP = "per_clip"  # the key, beside a spec and task's summary metrics, of its per-prompt values
FEATURES, RENDERED_FEATURES = "frechet_features", "rendered_features"  # per_clip keys of the Fréchet feature rows
# spec text -> task -> metric -> value, and PER_CLIP -> metric -> per-prompt values (see per_clip_values)
Results = dict[str, dict[str, dict]]


def load_generators(specs: list[ModelSpec], device: str = "cpu", text_encoder=None) -> dict[Path, VideoGenerator]:
    """One generator per distinct model folder, sharing the text encoder and, where the same, the VAE."""
    generators: dict[Path, VideoGenerator] = {}
    vaes: dict[Path, object] = {}
    for spec in specs:
        folder = spec.folder.resolve()
        if folder in generators:
            continue
        vae_folder = spec.opened.vae_dir
        gen = VideoGenerator.from_folder(spec.opened, device=device, text_encoder=text_encoder,
                                         vae=vaes.get(vae_folder))
        text_encoder = gen.text_encoder
        vaes.setdefault(vae_folder, gen.vae)
        generators[folder] = gen
    return generators


class RenderedSet:
    """The rendered clips of the prompts' specs, as the evaluation needs them: features and edge energy."""

    def __init__(self, prompts: list[EvalPrompt]):
        clips = [render(p.spec) for p in prompts]
        self.features = np.stack([clip_features(c) for c in clips])  # (N, D)
        self.edge_energy = [edge_energy(c) for c in clips]  # (N,)


def score_clip(clip: np.ndarray, prompt: EvalPrompt, rendered_energy: float, task: str,
               teacher_clip: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Per-clip numbers of one generated clip (F, H, W, 3), and its Fréchet features (D,)."""
    reading = read_pixels(clip)
    subject = subject_consistency(clip, reading)
    row: dict = {
        "report": attribute_report(judge_clip(clip), prompt.spec),
        "temporal_flicker": temporal_flicker(clip, reading),
        "subject_consistency": subject.score,
        "subject_area_cv": subject.area_cv,
        "subject_colour_drift": subject.colour_drift,
        "sharpness": sharpness(clip, rendered_energy),
        "shape_fidelity": shape_fidelity(clip, prompt.spec),
    }
    if task == "i2v":
        row["frame0_psnr_db"] = capped_psnr(clip[0], prompt.first_frame)
    if teacher_clip is not None:
        row.update(teacher_fidelity(clip, teacher_clip))
    return row, clip_features(clip, reading)


def nan_mean(values: np.ndarray) -> float:
    """Mean of the finite values of a (N,) array (NaN marks a missing value, None in metrics.json); NaN if none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _mean(values: list[float]) -> float | None:
    """Mean of the finite values; None where there are none (JSON has no NaN)."""
    return _finite(nan_mean(np.asarray(values, dtype=np.float64)))


def summarise(rows: list[dict], features: np.ndarray, rendered: RenderedSet) -> dict[str, float | None]:
    """The metrics of one spec and task, from its per-clip rows and features (N, D)."""
    rates = attribute_rates([r["report"] for r in rows])
    out: dict[str, float | None] = {"attribute_accuracy": rates["all"]}
    out.update({f"{a}_accuracy": rates[a] for a in ATTRIBUTES})
    out["frechet_distance"] = frechet_distance(features, rendered.features)
    for key in rows[0]:
        if key != "report":
            out[key] = _mean([r[key] for r in rows])
    return out


def _finite(value: float) -> float | None:
    """The value as a float, or None where it is NaN (JSON has no NaN)."""
    return None if math.isnan(value) else float(value)


def per_clip_values(rows: list[dict], features: np.ndarray, rendered: RenderedSet) -> dict[str, list]:
    """The per-prompt values of one spec and task, in prompt order, for paired comparisons between specs.

    Every per-clip metric under its summary key, so that its mean over the non-None values is the summary
    figure: attribute_accuracy (1.0 if every attribute is right, else 0.0), each `{attribute}_accuracy` (1.0
    or 0.0), and each number of score_clip's rows (None where NaN). Also the Fréchet feature rows (N, D) of
    the generated clips (FEATURES) and of the rendered clips of the same prompts (RENDERED_FEATURES), so that
    the Fréchet distance can be recomputed on a resample of the prompts.
    """
    reports = [r["report"] for r in rows]
    out: dict[str, list] = {"attribute_accuracy": [float(all(r[a] for a in ATTRIBUTES)) for r in reports]}
    out.update({f"{a}_accuracy": [float(r[a]) for r in reports] for a in ATTRIBUTES})
    for key in rows[0]:
        if key != "report":
            out[key] = [_finite(r[key]) for r in rows]
    out[FEATURES] = [[_finite(v) for v in row] for row in features]
    out[RENDERED_FEATURES] = [[_finite(v) for v in row] for row in rendered.features]
    return out


def _task_order(specs: list[ModelSpec], reference: ModelSpec | None) -> list[ModelSpec]:
    """The specs with the reference first, so its clips are there when the others compare to them."""
    return ([reference] if reference else []) + [s for s in specs if s is not reference]


def _run_spec(gen: VideoGenerator, spec: ModelSpec, task: str, prompts: list[EvalPrompt], rendered: RenderedSet,
              teacher_clips: list[np.ndarray] | None, keep: bool, batch_size: int,
              bar: tqdm) -> tuple[dict, list[np.ndarray]]:
    """Generate and score every prompt with one spec on one task; also returns the clips when `keep`.

    The summary holds the metrics (summarise), the cost, and under PER_CLIP the per-prompt values.
    """
    features = []

    def score(i: int, clip: np.ndarray) -> dict:
        teacher = clip if keep else (teacher_clips[i] if teacher_clips is not None else None)
        row, feats = score_clip(clip, prompts[i], rendered.edge_energy[i], task, teacher)
        features.append(feats)
        return row

    run = generate_and_judge(gen, prompts, task, score, spec.steps, batch_size=batch_size, at_spec_size=True,
                             keep_clips=keep, on_batch=bar.update)
    feature_rows = np.stack(features)  # (N, D)
    summary: dict = summarise(run.rows, feature_rows, rendered)
    summary.update(seconds_per_clip=run.model_seconds / len(prompts), nfe=run.nfe, steps=spec.steps,
                   clips=len(prompts))
    summary[PER_CLIP] = per_clip_values(run.rows, feature_rows, rendered)
    return summary, run.clips


def evaluate(specs: list[ModelSpec], generators: dict[Path, VideoGenerator], prompts: list[EvalPrompt],
             tasks: tuple[str, ...] = TASKS, reference: ModelSpec | None = None, batch_size: int = 8,
             progress: bool = True) -> Results:
    """Generate and score every prompt for every spec and task; results keyed spec text -> task -> metric.

    Each spec and task also holds its per-prompt values under PER_CLIP (per_clip_values), in prompt order,
    the same prompts and noise for every spec, so two specs compare pairwise (evaluation.bootstrap).
    With a reference (teacher@50), every spec also gets teacher_psnr_db and teacher_ssim against the
    reference's clip from the same prompt and noise (the reference itself gets the cap and 1).
    """
    rendered = RenderedSet(prompts)
    for gen in generators.values():  # warm-up, so the first spec's timing holds no one-off costs
        gen([prompts[0].prompt], [prompts[0].seed], steps=1, height=prompts[0].spec.height,
            width=prompts[0].spec.width)
    results: Results = {s.text: {} for s in specs}
    bar = tqdm(total=len(specs) * len(tasks) * len(prompts), unit="clip", disable=not progress)
    for task in tasks:
        teacher_clips = None
        for spec in _task_order(specs, reference):
            bar.set_description(f"{spec.text} {task}")
            keep = spec is reference
            summary, kept = _run_spec(generators[spec.folder.resolve()], spec, task, prompts, rendered,
                                      teacher_clips, keep, batch_size, bar)
            results[spec.text][task] = summary
            if keep:
                teacher_clips = kept
    bar.close()
    return results
