"""Teacher fidelity: how close a clip comes to the teacher's 50-step clip from the same noise (PSNR, SSIM).

SSIM follows Wang, Bovik, Sheikh & Simoncelli (2004), Eq. 13: local means, variances and covariance
under an 11 x 11 Gaussian window (sigma 1.5), constants C1 = (K1 L)^2 and C2 = (K2 L)^2 with
K1 = 0.01, K2 = 0.03, L = 255; computed per frame and per RGB channel and averaged over every pixel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from accvideo.shapes.judge import psnr

PSNR_CAP_DB = 100.0  # identical clips have infinite PSNR; reports cap it here so JSON stays finite
SSIM_K1, SSIM_K2 = 0.01, 0.03  # Wang et al. (2004) stabilising constants
SSIM_SIGMA = 1.5  # px: standard deviation of the Gaussian window
SSIM_TRUNCATE = 3.5  # window radius in sigmas: radius 5, an 11 x 11 window as in the paper
SSIM_PEAK = 255.0  # dynamic range L of uint8 pixels


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 images or clips (..., H, W, 3): 1 when identical, lower as they differ."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.ndim < 3:
        raise ValueError(f"expected (..., H, W, C), got shape {a.shape}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    sigma = [0.0] * (x.ndim - 3) + [SSIM_SIGMA, SSIM_SIGMA, 0.0]  # blur over H and W only

    def local_mean(v: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(v, sigma, mode="reflect", truncate=SSIM_TRUNCATE)

    c1, c2 = (SSIM_K1 * SSIM_PEAK) ** 2, (SSIM_K2 * SSIM_PEAK) ** 2
    mx, my = local_mean(x), local_mean(y)  # (..., H, W, C) each
    vx, vy, cxy = local_mean(x * x) - mx * mx, local_mean(y * y) - my * my, local_mean(x * y) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim_map.mean())


def capped_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays, at most PSNR_CAP_DB (so identical arrays give the cap, not inf)."""
    return min(psnr(a, b), PSNR_CAP_DB)


def teacher_fidelity(clip: np.ndarray, teacher_clip: np.ndarray) -> dict[str, float]:
    """PSNR (dB, capped) and SSIM of a clip (F, H, W, 3) against the teacher's clip from the same noise."""
    return {"teacher_psnr_db": capped_psnr(clip, teacher_clip), "teacher_ssim": ssim(clip, teacher_clip)}
