"""The paired bootstrap over prompts (accvideo.evaluation.bootstrap) and the bench reports' verdicts on it
(bench.verdicts)."""

from __future__ import annotations

import numpy as np
import pytest

from accvideo.evaluation.bootstrap import (DOES_NOT_HOLD, HOLDS, UNDECIDED, compare_per_clip, nan_mean,
                                           ordering_verdict, paired_bootstrap)
from accvideo.evaluation.frechet import frechet_distance
from accvideo.evaluation.runner import FEATURES, PER_CLIP, RENDERED_FEATURES
from bench.verdicts import verdict


def test_a_clear_positive_difference_holds_and_a_clear_negative_one_does_not():
    rng = np.random.default_rng(0)
    loser = rng.normal(0.0, 1.0, 60)  # (N,) per-prompt values
    winner = loser + 0.8 + rng.normal(0.0, 0.3, 60)
    up = ordering_verdict(winner, loser)
    assert up.verdict == HOLDS and 0.0 < up.low < up.difference < up.high
    assert up.difference == pytest.approx(winner.mean() - loser.mean())
    assert 0.6 < up.low and up.high < 1.0  # the paired spread is that of the 0.3 noise: about +-0.08
    down = ordering_verdict(loser, winner)
    assert down.verdict == DOES_NOT_HOLD and down.low < down.high < 0.0
    assert (down.low, down.high) == pytest.approx((-up.high, -up.low), abs=0.02)
    lower_is_better = ordering_verdict(loser, winner, higher_is_better=False)  # e.g. a distance: lower wins
    assert lower_is_better.verdict == HOLDS and lower_is_better.high < 0.0


def test_noise_and_identical_values_are_undecided():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.0, 1.0, 40), rng.normal(0.0, 1.0, 40)  # the same distribution, unpaired noise
    noisy = ordering_verdict(a, b)
    assert noisy.verdict == UNDECIDED and noisy.low < 0.0 < noisy.high
    same = ordering_verdict(a, a.copy())
    assert same.verdict == UNDECIDED and same.difference == same.low == same.high == 0.0


def test_resampling_is_paired_seeded_and_a_percentile_interval():
    rng = np.random.default_rng(2)
    b = rng.normal(0.0, 1.0, 30)
    estimate, low, high = paired_bootstrap(b + 0.25, b)  # the same prompts for both: every resample gives 0.25
    assert (estimate, low, high) == pytest.approx((0.25, 0.25, 0.25), abs=1e-12)  # unpaired: about +-0.5 wide
    a = b + rng.normal(0.1, 0.5, 30)
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)  # deterministic for a seed
    assert paired_bootstrap(a, b, seed=3)[1:] != paired_bootstrap(a, b, seed=4)[1:]
    indices = np.random.default_rng(3).integers(0, 30, size=(500, 30))  # what the function draws with seed 3
    differences = a[indices].mean(1) - b[indices].mean(1)  # (500,)
    expected = (a.mean() - b.mean(), *np.quantile(differences, [0.05, 0.95]))
    assert paired_bootstrap(a, b, n_resamples=500, seed=3, level=0.9) == pytest.approx(expected, rel=1e-12)


def test_missing_values_are_left_out_and_unpaired_input_is_refused():
    a = [1.0, None, 1.0, 0.0]  # as metrics.json holds a NaN metric
    assert nan_mean(np.asarray(a, dtype=float)) == pytest.approx(2 / 3)
    assert paired_bootstrap(a, [0.0, 0.0, 0.0, 0.0])[0] == pytest.approx(2 / 3)
    assert ordering_verdict([None, None], [1.0, 0.0]).verdict == UNDECIDED  # nothing to measure: no verdict
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0, 2.0], level=1.0)


def _per_clip(features: np.ndarray, rendered: np.ndarray, **values: list) -> dict:
    """Per-clip values as runner.per_clip_values writes them."""
    return {FEATURES: features.tolist(), RENDERED_FEATURES: rendered.tolist(), **values}


def test_frechet_distance_is_recomputed_on_resampled_prompts():
    rng = np.random.default_rng(4)
    rendered = rng.normal(0.0, 1.0, (24, 3))  # (N, D)
    close, far = rendered + rng.normal(0.0, 0.1, (24, 3)), rendered + 1.0
    o = compare_per_clip(_per_clip(close, rendered), _per_clip(far, rendered), "frechet_distance",
                         higher_is_better=False, n_resamples=200)
    assert o.difference == pytest.approx(frechet_distance(close, rendered) - frechet_distance(far, rendered))
    assert o.verdict == HOLDS and o.low < o.high < 0.0 and o.difference == pytest.approx(-3.0, abs=0.3)
    assert compare_per_clip(_per_clip(far, rendered), _per_clip(close, rendered), "frechet_distance",
                            higher_is_better=False, n_resamples=200).verdict == DOES_NOT_HOLD
    with pytest.raises(ValueError, match="same prompts"):
        compare_per_clip(_per_clip(close, rendered), _per_clip(far, rendered + 1.0), "frechet_distance", False)


def _task(per_clip: dict | None, **summary: float) -> dict:
    """One spec and task as metrics.json holds it: summary metrics, and per-clip values unless None."""
    out = {"clips": 8, **summary}
    if per_clip is not None:
        out[PER_CLIP] = per_clip
    return out


def test_paper_tables_verdict_reads_each_metric_from_its_interval():
    rendered = np.random.default_rng(5).normal(0.0, 1.0, (8, 3))
    student = _per_clip(rendered, rendered, attribute_accuracy=[1.0] * 8, sharpness=[0.8] * 8,
                        teacher_psnr_db=[30.0, 20.0] * 4)
    teacher = _per_clip(rendered + 1.0, rendered, attribute_accuracy=[0.0] * 8, sharpness=[0.9] * 8,
                        teacher_psnr_db=[20.0, 30.0] * 4)
    summary = {"teacher_psnr_db": 25.0, "frechet_distance": 1.0}
    results = {"student@5": {"t2v": _task(student, attribute_accuracy=1.0, sharpness=0.8, **summary)},
               "teacher@5": {"t2v": _task(teacher, attribute_accuracy=0.0, sharpness=0.9, **summary)}}
    lines = verdict(results, "student@5", "teacher@5", "Student beats teacher") \
        .splitlines()
    assert lines[0] == ("- **Student beats teacher** (student@5 against teacher@5; 95% paired bootstrap intervals "
                        "over 8 prompts): holds on t2v all attributes, t2v Fréchet distance; does not hold on "
                        "t2v sharpness (rendered = 1); undecided on t2v teacher PSNR (dB).")
    assert lines[1] == "  - t2v all attributes: student@5 - teacher@5 = +1.000 [+1.000, +1.000]: holds"
    assert lines[2].startswith("  - t2v teacher PSNR (dB): student@5 - teacher@5 = +0.00 [-")
    assert lines[2].endswith(": undecided")
    assert lines[3].startswith("  - t2v Fréchet distance: student@5 - teacher@5 = -3.") and \
        lines[3].endswith(", lower is better: holds")
    assert lines[4] == ("  - t2v sharpness (rendered = 1): student@5 - teacher@5 = -0.100 [-0.100, -0.100]: "
                        "does not hold")
    assert len(lines) == 5

    results["teacher@5"]["t2v"]["teacher_psnr_db"] = 100.0  # the loser is the fidelity reference: left out
    del results["student@5"]["t2v"][PER_CLIP]  # a metrics.json from before per-clip values: no verdict
    lines = verdict(results, "student@5", "teacher@5", "Old run", ("s", "t")) \
        .splitlines()
    assert "undecided on t2v all attributes, t2v Fréchet distance, t2v sharpness (rendered = 1)." in lines[0]
    assert lines[1] == ("  - t2v all attributes: s 1.000, t 0.000: undecided (no per-clip values in metrics.json: "
                        "re-run `accvideo eval`)")
    assert len(lines) == 4
