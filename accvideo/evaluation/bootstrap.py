"""Whether one model beats another on a metric: a paired bootstrap over prompts, read as holds / does not hold /
undecided.

Two specs evaluated on the same eval prompts and noise give paired per-prompt values (runner.per_clip_values).
A resample draws prompt indices with replacement, the same indices for both models, recomputes each model's
statistic on its resampled values (the mean, or the Fréchet distance of the resampled feature rows against the
rendered rows of the same resampled prompts) and keeps the difference. The percentile interval of those
differences is the confidence interval. An ordering "winner beats loser" holds where the whole interval of
winner - loser, signed so that higher is better, lies above 0; does not hold where it lies below 0; and is
undecided otherwise. Never a count of metrics won.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from accvideo.evaluation.frechet import frechet_distance
from accvideo.evaluation.runner import FEATURES, RENDERED_FEATURES, nan_mean

N_RESAMPLES = 2000  # bootstrap resamples of a per-prompt mean
FRECHET_RESAMPLES = 1000  # resamples of the Fréchet distance (two matrix square roots each, so fewer)
LEVEL = 0.95  # confidence level of the interval
HOLDS, DOES_NOT_HOLD, UNDECIDED = "holds", "does not hold", "undecided"

Statistic = Callable[[np.ndarray], float]  # rows (N, ...) of one model -> one number


def frechet_statistic(rows: np.ndarray) -> float:
    """Fréchet distance of rows (N, 2D): a model's feature rows (first D columns) against the rendered clips'
    feature rows of the same prompts (last D columns), so that one resample of prompts moves both together."""
    half = rows.shape[1] // 2
    return frechet_distance(rows[:, :half], rows[:, half:])


def paired_bootstrap(a: Sequence | np.ndarray, b: Sequence | np.ndarray, statistic: Statistic = nan_mean,
                     n_resamples: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL) -> tuple[float, float, float]:
    """statistic(a) - statistic(b) and its percentile confidence interval, resampling prompts (rows) of both at once.

    a, b: per-prompt values (N,) or rows (N, ...) of two models on the same N prompts, in the same order
    (None counts as missing). Each of the n_resamples draws N prompt indices with replacement from a
    generator seeded with `seed`, the same indices for a and b. Returns (estimate on all prompts, low, high);
    low and high are NaN where no resample gives a finite difference.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) != len(b) or not len(a):
        raise ValueError(f"expected paired values of the same non-zero length, got {len(a)} and {len(b)}")
    if not 0.0 < level < 1.0 or n_resamples < 1:
        raise ValueError(f"level must be in (0, 1) and n_resamples at least 1, got {level}, {n_resamples}")
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(a), size=(n_resamples, len(a)))  # (R, N): row r is resample r's prompts
    differences = np.array([statistic(a[i]) - statistic(b[i]) for i in indices])  # (R,)
    differences = differences[np.isfinite(differences)]
    estimate = float(statistic(a) - statistic(b))
    if not differences.size:
        return estimate, float("nan"), float("nan")
    tail = (1.0 - level) / 2
    low, high = np.quantile(differences, [tail, 1.0 - tail])
    return estimate, float(low), float(high)


@dataclass(frozen=True)
class Ordering:
    """Whether a winner beats a loser on one metric, with the paired bootstrap interval of their difference."""

    difference: float  # statistic(winner) - statistic(loser) on all prompts, as measured (not sign-adjusted)
    low: float  # lower end of the confidence interval of the difference
    high: float  # upper end
    verdict: str  # HOLDS, DOES_NOT_HOLD or UNDECIDED
    level: float  # confidence level of [low, high]
    higher_is_better: bool  # the metric's direction; for lower-is-better metrics the winner needs high < 0


def ordering_verdict(winner: Sequence | np.ndarray, loser: Sequence | np.ndarray, statistic: Statistic = nan_mean,
                     higher_is_better: bool = True, n_resamples: int = N_RESAMPLES, seed: int = 0,
                     level: float = LEVEL) -> Ordering:
    """Does `winner` beat `loser`? Holds if the whole interval of winner - loser (signed so that higher is better)
    is above 0, does not hold if it is below 0, undecided otherwise (also where the interval is NaN)."""
    difference, low, high = paired_bootstrap(winner, loser, statistic, n_resamples, seed, level)
    sign = 1.0 if higher_is_better else -1.0
    lower, upper = sorted((sign * low, sign * high))
    verdict = HOLDS if lower > 0 else DOES_NOT_HOLD if upper < 0 else UNDECIDED
    return Ordering(difference, low, high, verdict, level, higher_is_better)


def compare_per_clip(winner: dict, loser: dict, key: str, higher_is_better: bool, n_resamples: int | None = None,
                     seed: int = 0, level: float = LEVEL) -> Ordering:
    """Order two specs on one metric from their per-clip values (runner.per_clip_values, the same prompts).

    `key` is a summary metric: "frechet_distance" is recomputed from the feature rows on each resample
    (FRECHET_RESAMPLES by default), every other key is the mean of its per-prompt values (N_RESAMPLES).
    """
    if key != "frechet_distance":
        return ordering_verdict(winner[key], loser[key], nan_mean, higher_is_better, n_resamples or N_RESAMPLES,
                                seed, level)
    if winner[RENDERED_FEATURES] != loser[RENDERED_FEATURES]:
        raise ValueError("the two specs were not scored on the same prompts (their rendered features differ)")
    rows = [np.hstack([np.asarray(s[FEATURES], dtype=np.float64), np.asarray(s[RENDERED_FEATURES], dtype=np.float64)])
            for s in (winner, loser)]  # (N, 2D) each
    return ordering_verdict(rows[0], rows[1], frechet_statistic, higher_is_better, n_resamples or FRECHET_RESAMPLES,
                            seed, level)
