"""Shape fidelity (accvideo.shapes.outline): 1 on rendered clips, lower on blurred, warped or wrong shapes."""

import math

import numpy as np
import pytest
from scipy import ndimage

from accvideo.shapes import random_spec, render, split_seeds
from accvideo.shapes.outline import frame_fidelity, ideal_outline, shape_fidelity
from accvideo.shapes.spec import BACKGROUNDS, ClipSpec, ObjectSpec


def _specs(n: int, n_objects: int | None = None) -> list[ClipSpec]:
    return [random_spec(s, n_objects=n_objects) for s in split_seeds("eval", n)]


def _warp(clip: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """The clip resampled through a smooth random displacement field (px of standard deviation `amplitude`)."""
    rng = np.random.default_rng(seed)
    h, w = clip.shape[1:3]
    field = [ndimage.gaussian_filter(rng.normal(size=(h, w)), 3) for _ in range(2)]
    dy, dx = (f * amplitude / f.std() for f in field)
    ys, xs = np.mgrid[0:h, 0:w]
    out = np.empty_like(clip)
    for f in range(clip.shape[0]):
        for c in range(3):
            out[f, :, :, c] = ndimage.map_coordinates(clip[f, :, :, c], [ys + dy, xs + dx], order=0, mode="nearest")
    return out


@pytest.mark.parametrize("shape,area", [("circle", 113.0), ("square", 169.0), ("triangle", 85.0), ("circle", 380.0)])
def test_ideal_outline_has_the_asked_area_and_centroid(shape, area):
    mask = ideal_outline(shape, area, (31.3, 29.6), 64, 64)
    ys, xs = np.nonzero(mask)
    assert abs(ys.size - area) / area < 0.1  # a small triangle gains or loses a few edge pixels
    assert abs(xs.mean() - 31.3) <= 0.5 and abs(ys.mean() - 29.6) <= 0.5  # within half a pixel


def test_rendered_clips_score_one():
    specs = _specs(24) + _specs(6, n_objects=2)
    scores = [shape_fidelity(render(s), s) for s in specs]
    assert min(scores) == pytest.approx(1.0)


def test_blur_and_warp_lower_it_in_order():
    specs = _specs(12, n_objects=1)
    clips = [render(s) for s in specs]

    def mean(transform) -> float:
        return float(np.nanmean([shape_fidelity(transform(c, i), s) for i, (c, s) in enumerate(zip(clips, specs))]))

    blurred = mean(lambda c, i: np.clip(ndimage.gaussian_filter(c.astype(float), (0, 1.5, 1.5, 0)), 0, 255)
                   .astype(np.uint8))
    warped = [mean(lambda c, i, a=a: _warp(c, a, i)) for a in (1.0, 2.0, 3.0)]
    assert 0.9 < blurred < 0.995  # the corners blur away, the outline stays
    assert 0.97 > warped[0] > warped[1] + 0.05 > warped[2] + 0.1  # lumpier, lower
    assert warped[2] < 0.7


def test_a_wrong_shape_or_a_missing_object_scores_low():
    obj = ObjectSpec(colour="red", shape="circle", size="large", motion="still", mid=(32.0, 32.0))
    spec = ClipSpec(background="gray", objects=(obj,))
    drawn = ObjectSpec(colour="red", shape="square", size="large", motion="still", mid=(32.0, 32.0))
    square = render(ClipSpec(background="gray", objects=(drawn,)))
    assert 0.7 < shape_fidelity(square, spec) < 0.9  # a clean square where a circle was asked
    empty = np.empty_like(square)
    empty[:] = BACKGROUNDS["gray"]
    assert shape_fidelity(empty, spec) == 0.0


def test_frames_cut_by_the_edge_are_left_out():
    obj = ObjectSpec(colour="blue", shape="square", size="large", motion="still", mid=(3.0, 32.0))
    spec = ClipSpec(background="black", objects=(obj,))
    assert math.isnan(shape_fidelity(render(spec), spec))
    assert frame_fidelity(np.zeros((64, 64), dtype=bool), "circle") == 0.0


def test_the_clip_must_fit_its_spec():
    spec = _specs(1)[0]
    with pytest.raises(ValueError, match="clip of shape"):
        shape_fidelity(render(spec)[:, :32], spec)
