"""Per-clip quality metrics read from pixels, standing in for VBench's dimensions in the Shapes world.

| metric | VBench dimension | perfect (a rendered clip) |
|---|---|---|
| attribute_accuracy | object class, colour, spatial relationship, dynamic degree | 1 |
| temporal_flicker | temporal flickering | 0 (RGB levels) |
| subject_consistency | subject consistency | 1 |
| sharpness | imaging quality | 1 (relative to the rendered clip) |

The Fréchet distance (the FVD analogue) is in `frechet.py`, teacher fidelity (PSNR, SSIM) in `fidelity.py`.
All functions are pure numpy; the ones that read pixels take an optional precomputed `PixelReading`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from accvideo.evaluation.reading import PixelReading, read_pixels, rim_margin
from accvideo.shapes.judge import (MIN_BLOB_PIXELS, MIN_PRESENT_FRACTION, MUDDY_DISTANCE, REPORT_ATTRIBUTES,
                                   attribute_rates, attribute_report, judge_clip)
from accvideo.shapes.spec import ClipSpec

ATTRIBUTES = REPORT_ATTRIBUTES  # the keys of attribute_report
COLOUR_DRIFT_SCALE = MUDDY_DISTANCE  # RGB levels of colour drift at which subject consistency reaches 0
SHARPNESS_MEDIAN = 3  # px: median filter applied before measuring edges, so pixel noise does not count as detail


def attribute_accuracy(clips: list[np.ndarray], specs: list[ClipSpec]) -> dict[str, float]:
    """Attribute accuracy of clips (each (F, H, W, 3) uint8) against their specs, read by the clip judge."""
    if len(clips) != len(specs):
        raise ValueError(f"{len(clips)} clips for {len(specs)} specs")
    return attribute_rates([attribute_report(judge_clip(c), s) for c, s in zip(clips, specs)])


def temporal_flicker(clip: np.ndarray, reading: PixelReading | None = None) -> float:
    """Root-mean-square frame-to-frame change (RGB levels) of the pixels that are background in both frames.

    A rendered clip gives exactly 0 (its background never changes); i.i.d. Gaussian pixel noise of
    standard deviation s gives s * sqrt(2). NaN when no pixel is background in two consecutive frames.
    """
    reading = reading or read_pixels(clip)
    both = reading.background_mask[1:] & reading.background_mask[:-1]  # (F-1, H, W)
    if not both.any():
        return math.nan
    change = clip[1:].astype(np.float64) - clip[:-1].astype(np.float64)  # (F-1, H, W, 3)
    return float(np.sqrt(np.mean(change[both] ** 2)))


@dataclass(frozen=True)
class SubjectConsistency:
    """How steady the objects stay over the clip; the means over the objects the pixels show."""

    score: float  # [0, 1]: (1 - area_cv) (1 - colour_drift / COLOUR_DRIFT_SCALE), each factor >= 0; 0 if no object
    area_cv: float  # coefficient of variation of an object's area over its steady frames; NaN if no object
    colour_drift: float  # mean RGB distance of a frame's object colour from the clip's mean object colour; NaN if none


def _steady_frames(masks: np.ndarray, others: np.ndarray, margin: int) -> np.ndarray:
    """(F,) bool: frames where an object (masks (F, H, W)) touches neither the frame edge nor another object."""
    edge = masks[:, 0].any(1) | masks[:, -1].any(1) | masks[:, :, 0].any(1) | masks[:, :, -1].any(1)  # (F,)
    structure = np.zeros((1, 2 * margin + 1, 2 * margin + 1), dtype=bool)
    structure[0] = True
    near = ndimage.binary_dilation(masks, structure=structure)  # (F, H, W)
    touching = (near & others).reshape(len(masks), -1).any(1)  # (F,)
    return ~edge & ~touching


def _object_steadiness(clip: np.ndarray, reading: PixelReading, index: int) -> tuple[float, float]:
    """(area_cv, colour_drift) of the object of colour `index` over its steady frames (all, if fewer than 2)."""
    masks = reading.objects & (reading.nearest == index)  # (F, H, W)
    others = reading.objects & (reading.nearest != index)  # (F, H, W)
    steady = _steady_frames(masks, others, rim_margin(reading.scale))  # (F,)
    if (steady & masks.any((1, 2))).sum() < 2:  # seen steady in fewer than 2 frames: judge it over all of them
        steady = np.ones(len(masks), dtype=bool)
    areas = masks[steady].reshape(int(steady.sum()), -1).sum(1).astype(np.float64)  # (f,)
    area_cv = float(areas.std() / max(areas.mean(), 1e-9))
    colours = np.array([clip[f][masks[f]].mean(0) for f in np.nonzero(steady)[0] if masks[f].any()])  # (f', 3)
    drift = float(np.linalg.norm(colours - colours.mean(0), axis=1).mean())
    return area_cv, drift


def present_colours(reading: PixelReading) -> list[int]:
    """Indices into COLOURS of the object colours a clip shows: enough pixels in enough frames (the judge's rule)."""
    frames = reading.objects.shape[0]
    min_pixels = MIN_BLOB_PIXELS * reading.scale**2
    out = []
    for index in np.unique(reading.nearest[reading.objects]):
        counts = (reading.objects & (reading.nearest == index)).reshape(frames, -1).sum(1)  # (F,)
        if (counts >= min_pixels).sum() >= MIN_PRESENT_FRACTION * frames:
            out.append(int(index))
    return out


def subject_consistency(clip: np.ndarray, reading: PixelReading | None = None) -> SubjectConsistency:
    """How well every object keeps its area and colour from frame to frame; a rendered clip scores 1.

    Frames where an object touches the frame edge or another object (it may be cut off or occluded)
    are left out of its statistics, so a rendered clip that leaves the frame still scores 1.
    """
    reading = reading or read_pixels(clip)
    steadiness = [_object_steadiness(clip, reading, k) for k in present_colours(reading)]
    if not steadiness:
        return SubjectConsistency(0.0, math.nan, math.nan)
    scores = [max(0.0, 1.0 - cv) * max(0.0, 1.0 - drift / COLOUR_DRIFT_SCALE) for cv, drift in steadiness]
    return SubjectConsistency(float(np.mean(scores)), float(np.mean([cv for cv, _ in steadiness])),
                              float(np.mean([d for _, d in steadiness])))


def edge_energy(clip: np.ndarray) -> float:
    """Mean squared spatial gradient (RGB levels^2 per pixel and channel) of a clip (F, H, W, 3), median-filtered.

    Squared, unlike total variation, it falls as an edge spreads: a step of height h blurred over w
    pixels gives about h^2 / w. The SHARPNESS_MEDIAN x SHARPNESS_MEDIAN median filter first removes
    pixel noise, which would otherwise read as detail, and leaves straight edges as they are.
    """
    x = ndimage.median_filter(clip.astype(np.float64), size=(1, SHARPNESS_MEDIAN, SHARPNESS_MEDIAN, 1))
    gx = np.diff(x, axis=2)  # (F, H, W-1, 3)
    gy = np.diff(x, axis=1)  # (F, H-1, W, 3)
    return float((np.sum(gx**2) + np.sum(gy**2)) / x.size)


def sharpness(clip: np.ndarray, rendered: np.ndarray | float) -> float:
    """Edge energy of a generated clip over that of the rendered clip of its spec (or that energy): 1 = as sharp.

    Blur lowers it, monotonically in the blur radius; a missing object lowers it too. It may exceed 1
    where a model draws extra edges.
    """
    reference = rendered if isinstance(rendered, float) else edge_energy(rendered)
    if reference <= 0:
        raise ValueError("the rendered clip has no edges")
    return edge_energy(clip) / reference


def group_boundary_ratio(clip: np.ndarray, temporal_factor: int = 4) -> float:
    """Mean frame-to-frame change across latent-group boundaries over the change inside groups.

    clip: uint8 (F, H, W, 3), F = 1 + 4k. A causal video VAE encodes frame 0 alone and then groups of
    `temporal_factor` frames; transitions into a group's first frame (frames 1, 5, 9, ...) cross a boundary.
    A decoder that decodes each group on its own shows its objects still within a group and jumping between
    groups: a ratio well above the source clip's (about 1 for steady motion). NaN for a clip with no change.
    """
    x = clip.astype(np.float32)
    change = np.abs(np.diff(x, axis=0)).mean(axis=(1, 2, 3))  # (F - 1,): change into frame t + 1
    into = np.arange(1, len(x))
    boundary = (into - 1) % temporal_factor == 0
    inside = change[~boundary].mean() if (~boundary).any() else 0.0
    return float(change[boundary].mean() / inside) if inside > 0 else float("nan")
