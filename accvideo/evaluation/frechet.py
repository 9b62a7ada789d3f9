"""The Fréchet distance between generated and rendered clips: FVD's place, on features read from pixels.

FVD fits a Gaussian to I3D features of real and of generated videos and measures the Fréchet distance
between the two fits. No I3D exists for the Shapes world; instead each clip becomes a short vector of
what the clip judge's pixel reading sees (colours, size, silhouette, motion, edges, noise), each scaled
to about unit range, and the same distance is taken between the two sets of vectors.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from accvideo.evaluation.metrics import edge_energy, temporal_flicker
from accvideo.evaluation.reading import PixelReading, read_pixels
from accvideo.shapes.judge import SOFT_COVERAGE
from accvideo.shapes.spec import COLOURS, TRAVEL

FEATURE_NAMES = (
    *(f"background_{c}" for c in "rgb"),  # measured background colour / 255
    *(f"share_{c}" for c in COLOURS),  # share of the object pixels in each palette colour
    "muddy",  # share of the frame's pixels near no palette colour
    "object_size",  # sqrt(mean object area) / (quarter of the frame side)
    "fill",  # object area / its bounding-box area: square 1, disk ~0.79, triangle ~0.5
    "top_share",  # share of the object pixels above the bounding box's middle row: triangles ~0.23
    "motion_x",  # centroid travel over the clip in x, in units of the world's TRAVEL
    "motion_y",  # the same in y (down is positive)
    "soft_edge",  # share of soft (part-way) pixels among soft + object pixels / SOFT_EDGE_SCALE: 0 for hard edges
    "log_edge_energy",  # log10(1 + edge_energy) / EDGE_SCALE: falls with blur
    "background_noise",  # RMS deviation of background pixels from the background colour / NOISE_SCALE
    "flicker",  # temporal_flicker / NOISE_SCALE
)
NOISE_SCALE = 10.0  # RGB levels that count as one unit in the noise and flicker features
EDGE_SCALE = 4.0  # log10 units of edge energy that count as one unit (rendered clips are near 3)
SOFT_EDGE_SCALE = 0.25  # soft-edge share that counts as one unit (a 1-px Gaussian blur gives ~0.35)
SOLID_COVERAGE = 0.8  # coverage from which a pixel counts as solid object colour, not a soft edge
FRECHET_EPS = 1e-6  # added to each covariance's diagonal so the matrix square root is well defined


def _object_geometry(reading: PixelReading) -> np.ndarray:
    """(5,) object_size, fill, top_share, motion_x, motion_y from the object masks; zeros if no object is seen."""
    masks = reading.objects  # (F, H, W)
    frames, height, width = masks.shape
    areas, fills, tops, centroids, times = [], [], [], [], []
    for f in range(frames):
        ys, xs = np.nonzero(masks[f])
        if ys.size == 0:
            continue
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        middle = (ys.min() + ys.max()) / 2
        above, below = (ys < middle).sum(), (ys > middle).sum()
        areas.append(ys.size)
        fills.append(ys.size / box)
        tops.append(above / max(above + below, 1))
        centroids.append((xs.mean(), ys.mean()))
        times.append(f / max(frames - 1, 1))
    if not areas:
        return np.zeros(5)
    motion = np.zeros(2)
    if len(times) >= 2 and np.ptp(times) > 0:
        slope = np.polyfit(np.array(times), np.array(centroids), 1)[0]  # (2,): px over the whole clip
        motion = slope / (TRAVEL * reading.scale)
    quarter = min(height, width) / 4
    return np.array([math.sqrt(np.mean(areas)) / quarter, np.mean(fills), np.mean(tops), *motion])


def clip_features(clip: np.ndarray, reading: PixelReading | None = None) -> np.ndarray:
    """A fixed-length feature vector (len(FEATURE_NAMES),) of a uint8 clip (F, H, W, 3), read from its pixels."""
    reading = reading or read_pixels(clip)
    total = max(int(reading.objects.sum()), 1)
    shares = [float((reading.objects & (reading.nearest == k)).sum()) / total for k in range(len(COLOURS))]
    background = clip[reading.background_mask].astype(np.float64)  # (n, 3)
    noise = float(np.sqrt(np.mean((background - reading.background_rgb) ** 2))) if len(background) else 0.0
    flicker = temporal_flicker(clip, reading)
    soft = (reading.nearest >= 0) & (reading.coverage >= SOFT_COVERAGE) & (reading.coverage < SOLID_COVERAGE)
    return np.array([
        *(reading.background_rgb / 255.0),
        *shares,
        float(reading.muddy.mean()),
        *_object_geometry(reading),
        float(soft.sum()) / max(float(soft.sum()) + reading.objects.sum(), 1.0) / SOFT_EDGE_SCALE,
        math.log10(1.0 + edge_energy(clip)) / EDGE_SCALE,
        noise / NOISE_SCALE,
        (0.0 if math.isnan(flicker) else flicker) / NOISE_SCALE,
    ])


def _gaussian_fit(features: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), eps added to the diagonal; zero spread for N = 1."""
    mean = features.mean(0)
    cov = np.cov(features, rowvar=False) if len(features) > 1 else np.zeros((features.shape[1],) * 2)
    return mean, np.atleast_2d(cov) + eps * np.eye(features.shape[1])


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = FRECHET_EPS) -> float:
    """Fréchet distance between Gaussian fits of two feature sets (N, D) and (M, D), as in FID / FVD.

    Returns d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (the quantity FID and FVD report),
    with the real part of the matrix square root. Order-free: a set against itself, shuffled or not, gives ~0.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"expected two non-empty feature sets (N, D), (M, D); got {a.shape}, {b.shape}")
    mu_a, cov_a = _gaussian_fit(a.astype(np.float64), eps)
    mu_b, cov_b = _gaussian_fit(b.astype(np.float64), eps)
    covmean = np.real(linalg.sqrtm(cov_a @ cov_b))  # (D, D); imaginary parts are round-off
    d2 = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))
    return max(d2, 0.0)
