"""The Shapes world keeps its contract (shared/spec/shapes-world.md): every number there is asserted here."""

from __future__ import annotations

import numpy as np
import pytest

from accvideo.shapes.captions import canonical_caption, caption
from accvideo.shapes.render import object_mask, render, shape_mask
from accvideo.shapes.spec import (
    BACKGROUNDS,
    COLOURS,
    EVAL_SEEDS,
    FPS,
    FRAMES,
    SHAPES,
    SIZES,
    TRAIN_SEEDS,
    ClipSpec,
    ObjectSpec,
    check_geometry,
    object_centre,
    object_radius,
    random_spec,
    split_of,
    split_seeds,
)


def _one(shape: str, motion: str, size: str = "small", colour: str = "red", size_px: int = 64,
         mid: tuple[float, float] | None = None, background: str = "black") -> ClipSpec:
    """A hand-built one-object clip, by default centred in the frame."""
    centre = ((size_px - 1) / 2, (size_px - 1) / 2) if mid is None else mid
    return ClipSpec(background, (ObjectSpec(shape, colour, size, motion, centre),), size_px, size_px)


def _centroid(mask: np.ndarray) -> np.ndarray:
    """(x, y) mean of a boolean (H, W) mask."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


def _disk_points(r: int) -> int:
    """Integer points (dx, dy) with dx^2 + dy^2 <= r^2."""
    d = np.arange(-r, r + 1)
    return int((d[:, None] ** 2 + d[None, :] ** 2 <= r * r).sum())


# --- palette, sizes, clip format -------------------------------------------------------------------


def test_palette_is_exactly_the_contract_tables():
    assert BACKGROUNDS == {"black": (0, 0, 0), "gray": (128, 128, 128), "navy": (20, 30, 90)}
    assert COLOURS == {
        "red": (230, 40, 40), "green": (40, 190, 70), "blue": (40, 90, 240), "yellow": (245, 215, 40),
        "magenta": (220, 50, 210), "cyan": (40, 215, 225), "orange": (250, 140, 20), "white": (245, 245, 245),
    }
    assert set(SHAPES) == {"circle", "square", "triangle"}
    assert SIZES == {"small": 6, "large": 11}


def test_clip_format_and_only_palette_colours():
    spec = random_spec(123, n_objects=2)
    clip = render(spec)
    assert clip.shape == (17, 64, 64, 3) and clip.dtype == np.uint8
    assert FRAMES == 17 and (FRAMES - 1) % 4 == 0 and FPS == 8
    allowed = {BACKGROUNDS[spec.background]} | {COLOURS[o.colour] for o in spec.objects}
    assert {tuple(int(v) for v in c) for c in clip.reshape(-1, 3)} == allowed  # hard edges: no mixed colours


# --- shapes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "large"])
def test_square_side_is_2r_plus_1(size):
    r = SIZES[size]
    clip = render(_one("square", "still", size))
    mask = (clip[0] != 0).any(-1)
    ys, xs = np.nonzero(mask)
    assert mask.sum() == (2 * r + 1) ** 2
    assert np.ptp(xs) + 1 == 2 * r + 1 and np.ptp(ys) + 1 == 2 * r + 1


@pytest.mark.parametrize("size", ["small", "large"])
def test_circle_is_the_integer_disk(size):
    r = SIZES[size]
    clip = render(_one("circle", "still", size))
    assert (clip[0] != 0).any(-1).sum() == _disk_points(r)  # 113 for r = 6, 377 for r = 11


@pytest.mark.parametrize("size", ["small", "large"])
def test_triangle_apex_up_base_at_bottom(size):
    r = SIZES[size]
    mask = shape_mask("triangle", 30, 33, r, 64, 64)
    rows = np.nonzero(mask.any(1))[0]
    widths = mask[rows].sum(1)
    assert rows.size == 2 * r + 1  # height 2r between first and last pixel centre: 2r + 1 rows
    assert rows[0] == 33 - r and rows[-1] == 33 + r  # centred on its bounding box
    assert widths[0] == 1 and widths[-1] == 2 * r + 1  # apex up, base 2r (+1 pixel) at the bottom row
    assert np.all(np.diff(widths) >= 0)
    cols = np.nonzero(mask.any(0))[0]
    assert cols[0] == 30 - r and cols[-1] == 30 + r


# --- motion and placement --------------------------------------------------------------------------


@pytest.mark.parametrize("motion,direction", [("left", (-1, 0)), ("right", (1, 0)), ("up", (0, -1)),
                                              ("down", (0, 1)), ("still", (0, 0))])
def test_rendered_displacement_is_28_px(motion, direction):
    clip = render(_one("square", motion, "large"))
    start, end = _centroid((clip[0] != 0).any(-1)), _centroid((clip[-1] != 0).any(-1))
    np.testing.assert_allclose(end - start, 28.0 * np.array(direction), atol=1.0)  # 1 px from rounding centres


def test_path_centres_move_28_px_at_constant_speed():
    for seed in range(200):
        spec = random_spec(seed)
        for obj in spec.objects:
            path = np.array([object_centre(obj, f, spec.frames, spec.scale) for f in range(spec.frames)])
            steps = np.diff(path, axis=0)
            np.testing.assert_allclose(steps, steps[0][None].repeat(len(steps), 0), atol=1e-9)
            travel = 0.0 if obj.motion == "still" else 28.0
            assert np.hypot(*(path[-1] - path[0])) == pytest.approx(travel)
            np.testing.assert_allclose(path[8], obj.mid)  # frame 8 is mid-clip


@pytest.mark.parametrize("size_px", [64, 128])
def test_single_object_midpoints_near_frame_centre(size_px):
    scale = size_px / 64
    centre = np.array([(size_px - 1) / 2, (size_px - 1) / 2])
    moving, still = [], []
    for seed in range(1500):
        spec = random_spec(seed, size_px, size_px, n_objects=1)
        (obj,) = spec.objects
        (still if obj.motion == "still" else moving).append(np.hypot(*(np.array(obj.mid) - centre)))
    assert max(moving) <= 8.0 * scale and max(still) <= 12.0 * scale
    assert max(moving) > 6.0 * scale and max(still) > 10.0 * scale  # the jitter is used, not a fixed point


def test_one_or_two_objects_70_30():
    counts = np.array([len(random_spec(seed).objects) for seed in range(2000)])
    assert set(counts) == {1, 2}
    assert abs((counts == 2).mean() - 0.3) < 0.04  # ~4 binomial standard deviations at n = 2000


def test_two_objects_different_colours_and_apart_at_mid_clip():
    for seed in range(300):
        spec = random_spec(seed, n_objects=2)
        a, b = spec.objects
        assert a.colour != b.colour
        assert not (object_mask(a, 8, spec) & object_mask(b, 8, spec)).any()
    for seed in range(100):
        spec = random_spec(seed, 128, 128, n_objects=2)
        assert not (object_mask(spec.objects[0], 8, spec) & object_mask(spec.objects[1], 8, spec)).any()


# --- other sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size_px,small_r,large_r", [(32, 3, 6), (128, 12, 22)])
def test_pixel_lengths_scale_with_size(size_px, small_r, large_r):
    scale = size_px / 64
    for size, r in (("small", small_r), ("large", large_r)):
        assert object_radius(ObjectSpec("square", "red", size, "still", (0.0, 0.0)), scale) == r
        clip = render(_one("square", "still", size, size_px=size_px))
        assert clip.shape == (17, size_px, size_px, 3)
        assert (clip[0] != 0).any(-1).sum() == (2 * r + 1) ** 2
    clip = render(_one("square", "right", "small", size_px=size_px))
    shift = _centroid((clip[-1] != 0).any(-1)) - _centroid((clip[0] != 0).any(-1))
    np.testing.assert_allclose(shift, [28.0 * scale, 0.0], atol=1.0)


def test_check_geometry():
    for h, w, f in [(32, 32, 17), (64, 128, 1), (256, 48, 5), (96, 64, 21)]:
        check_geometry(h, w, f)
    for h, w, f in [(16, 64, 17), (272, 64, 17), (40, 64, 17), (64, 65, 17), (64, 64, 0), (64, 64, 16),
                    (64, 64, 18), (64, 64, 2)]:
        with pytest.raises(ValueError):
            check_geometry(h, w, f)
    with pytest.raises(ValueError):
        random_spec(0, 64, 64, 16)


def test_random_spec_is_deterministic_in_its_seed():
    for seed in (0, 1, 999_999, 1_234_567):
        assert random_spec(seed) == random_spec(seed)
        assert random_spec(seed).seed == seed
        np.testing.assert_array_equal(render(random_spec(seed)), render(random_spec(seed)))
    assert len({random_spec(seed) for seed in range(50)}) == 50


# --- captions --------------------------------------------------------------------------------------


def test_canonical_caption_exact_form():
    one = canonical_caption(_one("circle", "right", "large"))
    assert one == "a large red circle moving right on a black background"
    still = canonical_caption(_one("square", "still", "small", colour="blue", background="gray"))
    assert still == "a small blue square staying still on a gray background"
    two = ClipSpec("navy", (ObjectSpec("circle", "red", "large", "right", (20.0, 31.5)),
                            ObjectSpec("triangle", "white", "small", "up", (43.0, 31.5))))
    expected = "a large red circle moving right and a small white triangle moving up on a navy background"
    assert canonical_caption(two) == expected


def test_at_least_20_percent_canonical_captions():
    seeds = range(1000)
    canonical = [caption(random_spec(s), s) == canonical_caption(random_spec(s)) for s in seeds]
    assert np.mean(canonical) >= 0.2
    assert np.mean(canonical) < 0.9  # the rest are fine-grained
    assert caption(random_spec(5), 5) == caption(random_spec(5), 5)  # seeded, nothing random without a seed


SIZE_HINTS = {"small": ("small", "tiny", "little"), "large": ("large", "big")}
MOTION_HINTS = {"left": ("left",), "right": ("right",), "up": ("up", "rises", "climbs"),
                "down": ("down", "sinks", "falls"),
                "still": ("still", "motionless", "not move", "in place", "without moving")}


def test_fine_captions_name_every_attribute():
    for seed in range(400):
        spec = random_spec(seed)
        text = caption(spec, seed, style="fine")
        words = text.lower().replace(",", " ").replace(".", " ").split()
        assert 20 <= len(words) <= 80, text
        assert spec.background in words, text
        for obj in spec.objects:
            assert obj.colour in words and obj.shape in words, text
            assert any(h in words for h in SIZE_HINTS[obj.size]), text
            assert any(h in text.lower() for h in MOTION_HINTS[obj.motion]), text


# --- splits ----------------------------------------------------------------------------------------


def test_splits_are_disjoint_by_seed():
    train, evaluation = split_seeds("train", 1000), split_seeds("eval", 1000)
    assert not set(train) & set(evaluation)
    assert TRAIN_SEEDS.stop <= EVAL_SEEDS.start
    assert all(split_of(s) == "train" for s in train) and all(split_of(s) == "eval" for s in evaluation)
    assert split_seeds("eval", 3, offset=10) == [EVAL_SEEDS.start + 10, EVAL_SEEDS.start + 11, EVAL_SEEDS.start + 12]
    for bad in (-1, EVAL_SEEDS.stop):
        with pytest.raises(ValueError):
            split_of(bad)
    with pytest.raises(ValueError):
        split_seeds("train", 10, offset=len(TRAIN_SEEDS) - 5)
