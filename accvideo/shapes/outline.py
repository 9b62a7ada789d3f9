"""Shape fidelity: how close each drawn object comes to the clean outline of the shape its caption names.

Per object and frame: the object's pixels (every pixel the clip judge reads as that object's colour, edges
at EDGE_COVERAGE) against the ideal outline of the caption's shape (shared/spec/shapes-world.md: a disk; an
axis-aligned square; an isosceles triangle, apex up, base equal to its height) with the same area and the
same centroid, sampled at SUBPIXELS x SUBPIXELS points per pixel and kept where it covers half a pixel or
more (edges inclusive, as the renderer draws them). The score is their intersection over union. A clip
scores the mean over its objects and frames. A frame where the object's colour shows nowhere scores 0; one
where the object is cut by the frame's edge (in the spec or in the pixels), or comes within CONTACT_MARGIN px
of another object in the spec, is left out. A rendered clip scores 1; lumps, split blobs, rounded corners
and blurred edges lower it.
"""

from __future__ import annotations

import math

import numpy as np

from accvideo.shapes.judge import EDGE_COVERAGE, classify_pixels, read_background
from accvideo.shapes.render import object_mask
from accvideo.shapes.spec import COLOURS, ClipSpec

SUBPIXELS = 4  # samples per pixel side when the ideal outline is drawn
CONTACT_MARGIN = 2  # px: objects (in the spec) closer than this are in contact and their frames are left out


def ideal_outline(shape: str, area: float, centroid: tuple[float, float], height: int, width: int) -> np.ndarray:
    """Boolean (H, W): the pixels at least half covered by the clean `shape` of `area` px whose centroid is
    `centroid` (x, y), pixel (x, y) spanning [x - 0.5, x + 0.5] x [y - 0.5, y + 0.5]."""
    offsets = (np.arange(SUBPIXELS) + 0.5) / SUBPIXELS - 0.5  # (S,)
    ys = np.arange(height)[:, None] + offsets[None, :]  # (H, S)
    xs = np.arange(width)[:, None] + offsets[None, :]  # (W, S)
    dx = xs[None, :, None, :] - centroid[0]  # (1, W, 1, S)
    dy = ys[:, None, :, None] - centroid[1]  # (H, 1, S, 1)
    if shape == "circle":  # area = pi r^2
        inside = dx * dx + dy * dy <= area / math.pi
    elif shape == "square":  # area = side^2
        half = math.sqrt(area) / 2
        inside = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    elif shape == "triangle":  # base = height = h, area = h^2 / 2; the centroid lies 2h/3 below the apex
        h = math.sqrt(2 * area)
        depth = dy + 2 * h / 3  # 0 at the apex, h at the base
        inside = (depth >= 0) & (depth <= h) & (2 * np.abs(dx) <= depth)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return inside.mean((2, 3)) >= 0.5  # (H, W): edges inclusive, as the renderer draws them


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (0 when both are empty)."""
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 0.0


def _touches_edge(mask: np.ndarray) -> bool:
    """Whether a boolean (H, W) mask reaches the frame's border."""
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def _in_contact(spec: ClipSpec, index: int, frame: int) -> bool:
    """Whether object `index` of the spec is cut by the frame's edge or within CONTACT_MARGIN of another object."""
    own = object_mask(spec.objects[index], frame, spec)
    if _touches_edge(own):
        return True
    ys, xs = np.nonzero(own)
    for j, other in enumerate(spec.objects):
        if j != index:
            oy, ox = np.nonzero(object_mask(other, frame, spec))
            near_y = np.abs(ys[:, None] - oy[None, :]) <= CONTACT_MARGIN
            near_x = np.abs(xs[:, None] - ox[None, :]) <= CONTACT_MARGIN
            if (near_y & near_x).any():
                return True
    return False


def frame_fidelity(mask: np.ndarray, shape: str) -> float:
    """IoU of one object's boolean (H, W) pixels with the ideal `shape` of the same area and centroid."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return 0.0
    ideal = ideal_outline(shape, float(ys.size), (float(xs.mean()), float(ys.mean())), *mask.shape)
    return _iou(mask, ideal)


def shape_fidelity(clip: np.ndarray, spec: ClipSpec) -> float:
    """Mean outline IoU in [0, 1] of a clip's (F, H, W, 3) objects against the ideal shapes its spec names;
    NaN when every frame of every object is left out (cut by the edge or in contact)."""
    if clip.shape[:3] != (spec.frames, spec.height, spec.width):
        raise ValueError(f"clip of shape {clip.shape} for a {spec.frames} x {spec.height} x {spec.width} spec")
    _, background_rgb = read_background(clip)
    nearest, coverage = classify_pixels(clip, background_rgb)  # (F, H, W) each
    scores = []
    colour_index = {name: i for i, name in enumerate(COLOURS)}
    for index, obj in enumerate(spec.objects):
        masks = (nearest == colour_index[obj.colour]) & (coverage >= EDGE_COVERAGE)  # (F, H, W)
        for frame in range(spec.frames):
            if _in_contact(spec, index, frame) or (masks[frame].any() and _touches_edge(masks[frame])):
                continue
            scores.append(frame_fidelity(masks[frame], obj.shape))
    return float(np.mean(scores)) if scores else math.nan
