"""The evaluation metrics give the known answer on rendered clips, and move the right way under blur and noise."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import ndimage

from accvideo.evaluation import (
    attribute_accuracy,
    capped_psnr,
    clip_features,
    frechet_distance,
    sharpness,
    ssim,
    subject_consistency,
    temporal_flicker,
)
from accvideo.evaluation.fidelity import PSNR_CAP_DB, SSIM_K1, SSIM_PEAK
from accvideo.evaluation.metrics import ATTRIBUTES, COLOUR_DRIFT_SCALE
from accvideo.shapes import ClipSpec, ObjectSpec, random_spec, render, split_seeds
from accvideo.shapes.spec import COLOURS

OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up", "still": "left"}


def _blur(clip: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of every frame (not across frames or channels), rounded back to uint8."""
    x = ndimage.gaussian_filter(clip.astype(np.float64), (0, sigma, sigma, 0))
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _noise(clip: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """I.i.d. Gaussian noise on every pixel, channel and frame, rounded back to uint8."""
    return np.clip(np.round(clip + rng.normal(0.0, sigma, clip.shape)), 0, 255).astype(np.uint8)


def _one(shape: str, colour: str, size: str, motion: str, background: str = "gray") -> ClipSpec:
    return ClipSpec(background, (ObjectSpec(shape, colour, size, motion, (31.5, 31.5)),))


@pytest.fixture(scope="module")
def specs() -> list[ClipSpec]:
    """60 eval specs, one or two objects: the first 30 and the next 30 are two draws of the same distribution."""
    return [random_spec(s) for s in split_seeds("eval", 60)]


@pytest.fixture(scope="module")
def clips(specs) -> list[np.ndarray]:
    return [render(s) for s in specs]


# --- attribute accuracy ------------------------------------------------------------------------------


def test_attribute_accuracy_reads_rendered_clips_right_and_wrong_specs_wrong(specs, clips):
    rates = attribute_accuracy(clips[:20], specs[:20])
    assert rates == dict.fromkeys((*ATTRIBUTES, "all"), 1.0)
    wrong = [dataclasses.replace(s, objects=tuple(dataclasses.replace(o, motion=OPPOSITE[o.motion])
                                                  for o in s.objects)) for s in specs[:10]]
    rates = attribute_accuracy(clips[:20], wrong + specs[10:20])  # half the specs name the wrong motion
    assert rates["motion"] == 0.5 and rates["all"] == 0.5
    assert all(rates[a] == 1.0 for a in ("colour", "shape", "size", "background", "count"))


# --- Fréchet distance ----------------------------------------------------------------------------------


def test_frechet_distance_of_known_gaussians():
    a = np.array([[-1.0], [1.0]])  # mean 0, variance 2 (unbiased)
    b = 2 * a + 3  # mean 3, variance 8
    assert frechet_distance(a, b, eps=0.0) == pytest.approx(9 + 2 + 8 - 2 * 4)  # |dmu|^2 + s_a + s_b - 2 sqrt(s_a s_b)


def test_frechet_distance_rendered_vs_blurred_or_noised_beats_rendered_vs_rendered(clips):
    rng = np.random.default_rng(0)
    first = np.stack([clip_features(c) for c in clips[:30]])  # (30, D)
    second = np.stack([clip_features(c) for c in clips[30:]])  # another draw of the same distribution
    assert frechet_distance(first, first) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(first, first[rng.permutation(len(first))]) == pytest.approx(0.0, abs=1e-6)
    same = frechet_distance(first, second)
    blurred = frechet_distance(first, np.stack([clip_features(_blur(c, 1.0)) for c in clips[:30]]))
    noised = frechet_distance(first, np.stack([clip_features(_noise(c, 8.0, rng)) for c in clips[:30]]))
    assert 0 < 2 * same < min(blurred, noised)  # measured: same 0.51, blurred 1.89, noised 1.50


# --- temporal flicker ---------------------------------------------------------------------------------


def test_flicker_is_exactly_zero_on_rendered_clips(clips):
    assert {temporal_flicker(c) for c in clips} == {0.0}


def test_flicker_of_known_per_frame_changes():
    clip = render(_one("square", "red", "large", "right"))
    offsets = np.where(np.arange(len(clip)) % 2 == 0, 3, -3)  # frames alternately 3 levels brighter and darker
    shifted = (clip.astype(np.int16) + offsets[:, None, None, None]).astype(np.uint8)
    assert temporal_flicker(shifted) == pytest.approx(6.0)
    sigma = 4.0  # i.i.d. noise, rounded to uint8: each frame's variance is sigma^2 + 1/12, a change's twice that
    noisy = _noise(clip, sigma, np.random.default_rng(1))
    assert temporal_flicker(noisy) == pytest.approx(math.sqrt(2 * (sigma**2 + 1 / 12)), rel=0.02)


# --- subject consistency ------------------------------------------------------------------------------


def test_subject_consistency_is_one_on_rendered_clips_also_when_objects_leave_the_frame(specs, clips):
    border = [np.concatenate([c[:, 0], c[:, -1], c[:, :, 0], c[:, :, -1]], axis=1) for c in clips]  # (F, 4W, 3)
    leaving = [b for b, c in zip(border, clips) if (b != c[0, 0, 0]).any()]  # an object reaches the frame's edge
    assert leaving and any(len(s.objects) == 2 for s in specs)  # the set holds both hard cases
    for clip in clips:
        result = subject_consistency(clip)
        assert (result.score, result.area_cv, result.colour_drift) == (1.0, 0.0, 0.0)


def test_subject_consistency_falls_when_the_object_shrinks_or_changes_colour():
    spec = _one("circle", "orange", "large", "still")
    clip = render(spec)
    shrinking = clip.copy()
    small = render(dataclasses.replace(spec, objects=(dataclasses.replace(spec.objects[0], size="small"),)))
    shrinking[::2] = small[::2]  # every other frame the object is the small one
    drifting = clip.copy()
    mask = (clip != clip[0, 0, 0]).any(-1)  # (F, H, W) object pixels
    for f in range(len(clip)):  # the colour slides 2 levels a frame towards red
        drifting[f][mask[f]] = np.array(COLOURS["orange"]) - [0, 2 * f, 0]
    area, colour = subject_consistency(shrinking), subject_consistency(drifting)
    assert area.colour_drift == 0.0 and area.area_cv > 0.5 and area.score == pytest.approx(1 - area.area_cv)
    assert colour.area_cv == 0.0 and colour.colour_drift == pytest.approx(144 / 17)  # mean |2f - 16| over 17 frames
    assert colour.score == pytest.approx(1 - colour.colour_drift / COLOUR_DRIFT_SCALE)
    noise_only = _noise(np.full_like(clip, 128), 4.0, np.random.default_rng(2))
    assert subject_consistency(noise_only).score == 0.0  # no object, no subject to be consistent


# --- sharpness ----------------------------------------------------------------------------------------


def test_sharpness_is_one_when_sharp_and_falls_monotonically_with_blur(clips):
    for clip in clips[:5]:
        assert sharpness(clip, clip) == 1.0
        scores = [sharpness(_blur(clip, radius), clip) for radius in (0.5, 1.0, 1.5, 2.0, 3.0)]
        assert all(a > b for a, b in zip([1.0, *scores], scores)), scores  # measured ~0.52, 0.21, 0.14, 0.10, 0.06


def test_sharpness_is_not_fooled_by_pixel_noise(clips):
    rng = np.random.default_rng(3)
    clip = clips[0]
    assert sharpness(_noise(_blur(clip, 1.0), 8.0, rng), clip) < 0.5  # noise adds no edges to a blurred clip
    assert sharpness(_noise(clip, 8.0, rng), clip) > 0.8


# --- teacher fidelity ---------------------------------------------------------------------------------


def test_ssim_identical_constant_and_noisy(clips):
    clip = clips[0]
    assert ssim(clip, clip) == pytest.approx(1.0, abs=1e-12)
    assert capped_psnr(clip, clip) == PSNR_CAP_DB
    a, b = np.full((4, 32, 32, 3), 100, np.uint8), np.full((4, 32, 32, 3), 140, np.uint8)
    c1 = (SSIM_K1 * SSIM_PEAK) ** 2  # flat images: only the luminance term is left
    assert ssim(a, b) == pytest.approx((2 * 100 * 140 + c1) / (100**2 + 140**2 + c1))
    rng = np.random.default_rng(4)
    scores = [ssim(clip, _noise(clip, sigma, rng)) for sigma in (2.0, 8.0, 20.0)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.0
    noisy = _noise(clip, 8.0, rng)
    assert ssim(clip, noisy) == pytest.approx(ssim(noisy, clip))
    assert 25.0 < capped_psnr(clip, noisy) < 35.0  # 8 levels of noise: ~30 dB
