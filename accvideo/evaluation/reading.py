"""What each pixel of a clip is, read with the clip judge's rules: background, an object colour, or muddy.

The evaluation metrics share this one reading so that "background" and "object" mean the same thing in
the flicker, the subject consistency and the Fréchet features as in the judge that scores attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from accvideo.shapes.judge import EDGE_COVERAGE, SOFT_COVERAGE, SOFT_MARGIN, classify_pixels, read_background
from accvideo.shapes.spec import BASE_SIZE


@dataclass(frozen=True)
class PixelReading:
    """A clip (F, H, W, 3) read pixel by pixel."""

    background: str | None  # nearest background name, None if the border shows none of the world's
    background_rgb: np.ndarray  # (3,) measured background colour (median of the border)
    nearest: np.ndarray  # (F, H, W) index into COLOURS of the nearest object colour, -1 where muddy
    coverage: np.ndarray  # (F, H, W) how far from background to that colour a pixel lies, in [0, 1]
    objects: np.ndarray  # (F, H, W) bool: object pixels (coverage >= EDGE_COVERAGE, not muddy)
    background_mask: np.ndarray  # (F, H, W) bool: background pixels, clear of every object and its blurred rim
    scale: float  # clip size / 64: pixel lengths of the world scale by it

    @property
    def muddy(self) -> np.ndarray:
        """(F, H, W) bool: pixels near no background-to-colour segment (noise, mixes of two objects)."""
        return self.nearest < 0


def rim_margin(scale: float) -> int:
    """Pixels around an object that may hold its blurred rim (the judge's SOFT_MARGIN, at least 1)."""
    return max(int(math.ceil(SOFT_MARGIN * scale)), 1)


def read_pixels(clip: np.ndarray) -> PixelReading:
    """Read a uint8 clip (F, H, W, 3): background colour, per-pixel colour class, object and background masks.

    Background pixels are those the judge gives a coverage below SOFT_COVERAGE (its noise floor) that
    are not muddy and lie more than rim_margin px from any pixel that is not background.
    """
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"expected a clip (F, H, W, 3), got shape {clip.shape}")
    scale = min(clip.shape[1], clip.shape[2]) / BASE_SIZE
    name, rgb = read_background(clip)  # rgb (3,)
    nearest, coverage = classify_pixels(clip, rgb)  # (F, H, W) each
    objects = (nearest >= 0) & (coverage >= EDGE_COVERAGE)  # (F, H, W)
    touched = (nearest < 0) | (coverage >= SOFT_COVERAGE)  # (F, H, W): anything that is not plain background
    margin = rim_margin(scale)
    structure = np.zeros((1, 2 * margin + 1, 2 * margin + 1), dtype=bool)  # dilate within each frame only
    structure[0] = True
    near_object = ndimage.binary_dilation(touched, structure=structure)  # (F, H, W)
    return PixelReading(name, rgb, nearest, coverage, objects, ~near_object, scale)
