"""Render a ClipSpec into pixels: hard-edged shapes on a solid background, no anti-aliasing."""

from __future__ import annotations

import numpy as np

from accvideo.shapes.spec import BACKGROUNDS, COLOURS, ClipSpec, ObjectSpec, object_centre, object_radius


def shape_mask(shape: str, cx: int, cy: int, r: int, height: int, width: int) -> np.ndarray:
    """Boolean (H, W) mask of one shape centred on integer pixel (cx, cy) with size radius r."""
    ys, xs = np.mgrid[0:height, 0:width]
    dx, dy = xs - cx, ys - cy
    if shape == "circle":  # disk of radius r
        return dx * dx + dy * dy <= r * r
    if shape == "square":  # axis-aligned, side 2r + 1
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if shape == "triangle":  # isosceles, apex up, base 2r, height 2r, centred on its bounding box
        depth = dy + r  # 0 at the apex row, 2r at the base row
        return (depth >= 0) & (depth <= 2 * r) & (2 * np.abs(dx) <= depth)
    raise ValueError(f"unknown shape {shape!r}")


def object_mask(obj: ObjectSpec, frame: int, spec: ClipSpec) -> np.ndarray:
    """Boolean (H, W) mask of an object at one frame."""
    x, y = object_centre(obj, frame, spec.frames, spec.scale)
    r = object_radius(obj, spec.scale)
    return shape_mask(obj.shape, int(round(x)), int(round(y)), r, spec.height, spec.width)


def render(spec: ClipSpec) -> np.ndarray:
    """Render a clip: uint8 array (F, H, W, 3); later objects are drawn over earlier ones."""
    clip = np.empty((spec.frames, spec.height, spec.width, 3), dtype=np.uint8)
    clip[:] = np.array(BACKGROUNDS[spec.background], dtype=np.uint8)
    for f in range(spec.frames):
        for obj in spec.objects:
            clip[f][object_mask(obj, f, spec)] = np.array(COLOURS[obj.colour], dtype=np.uint8)
    return clip
