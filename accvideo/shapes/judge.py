"""A clip judge: read a Shapes clip's attributes back from its pixels alone (shared/spec/shapes-world.md).

Works on rendered clips and on clips a generative model made (colours slightly off, edges blurred,
small blobs of noise): every pixel is read as a mix of the background and one object colour, or
ignored as muddy; each object colour's largest blob per frame gives a centroid track (-> motion) and
a silhouette (-> shape, size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from accvideo.shapes.spec import BACKGROUNDS, BASE_SIZE, COLOURS, SIZES, ClipSpec

MUDDY_DISTANCE = 40.0  # RGB distance to every background-to-colour segment past which a pixel is ignored (>= 61 apart)
EDGE_COVERAGE = 0.5  # fraction of the way from background to an object colour past which a blurred pixel is object
SOFT_COVERAGE = 0.2  # coverage below which a pixel gets no weight in the soft silhouette moments (noise floor)
SOFT_MARGIN = 2.0  # px at 64 x 64 (x scale): how far around a blob its blurred rim is looked for
BACKGROUND_MAX_DISTANCE = 64.0  # RGB distance past which the border colour is none of the world's backgrounds
MIN_BLOB_PIXELS = 30.0  # px at 64 x 64 (x scale^2): smallest blob that counts (a small triangle has 85)
MIN_PRESENT_FRACTION = 0.5  # an object colour must show such a blob in at least this fraction of frames
STILL_DISPLACEMENT = 8.0  # px at 64 x 64 (x scale): less total displacement reads as still (true travel is 28)
OCCLUSION_AREA_FRACTION = 0.9  # frames whose blob is smaller than this x the median are left out of shape/size
TRIANGLE_TOP_FRACTION = 0.38  # top-half share of a blob's area below which it is a triangle (~0.23 vs 0.5)
SQUARENESS = 0.85  # E[dx^2 dy^2] / (E[dx^2] E[dy^2]) above which a symmetric blob is a square (~1 vs disk <= 0.8)
PSNR_IDENTICAL = math.inf  # psnr of two identical arrays


@dataclass(frozen=True)
class JudgedObject:
    """One object read from the pixels; an attribute is None where it could not be read."""

    colour: str  # one of COLOURS
    shape: str | None  # one of SHAPES
    size: str | None  # one of SIZES
    motion: str | None  # one of MOTIONS
    centroids: tuple[tuple[float, float] | None, ...]  # (x, y) per frame, None where the object was not seen
    area: float  # mean blob area in px over the frames where it was seen


@dataclass(frozen=True)
class JudgedClip:
    """A whole clip read from the pixels."""

    background: str | None  # nearest name in BACKGROUNDS, None if the border is no background colour
    objects: tuple[JudgedObject, ...]  # in the order of COLOURS


@dataclass(frozen=True)
class _Blob:
    """The largest connected blob of one colour in one frame."""

    area: int  # px
    centroid: tuple[float, float]  # (x, y)
    width: int  # bbox width, px
    height: int  # bbox height, px
    squareness: float  # coverage-weighted E[dx^2 dy^2] / (E[dx^2] E[dy^2]): 1 for a square, ~2/3 for a disk
    top_fraction: float  # share of the area in the rows above the bbox's middle (of the rows above + below)
    touches_border: bool  # whether the bbox touches the frame's edge (the object may be cut off)


def read_background(clip: np.ndarray) -> tuple[str | None, np.ndarray]:
    """Background name (None if none is near) and measured RGB (3,), from a clip's (F, H, W, 3) border pixels."""
    border = np.concatenate([clip[:, 0], clip[:, -1], clip[:, 1:-1, 0], clip[:, 1:-1, -1]], axis=1)  # (F, perim, 3)
    measured = np.median(border.reshape(-1, 3).astype(np.float32), axis=0)  # (3,), robust to objects at the edge
    names = list(BACKGROUNDS)
    dist = np.linalg.norm(np.array([BACKGROUNDS[n] for n in names], dtype=np.float32) - measured, axis=1)  # (3,)
    best = int(dist.argmin())
    return (names[best] if dist[best] <= BACKGROUND_MAX_DISTANCE else None), measured


def classify_pixels(clip: np.ndarray, background_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest object colour (F, H, W) (index into COLOURS, -1 muddy) and coverage (F, H, W) in [0, 1].

    A blurred edge pixel is a mix of background b and an object colour p: it lies on the segment from
    b to p, a fraction `coverage` of the way along. Each pixel goes to the segment nearest to it;
    pixels far from every segment (mixes of two objects, noise blobs) are muddy, with coverage 0.
    A pixel is object where its coverage is at least EDGE_COVERAGE, background elsewhere.
    """
    r, g, b = np.moveaxis(clip.astype(np.float32) - background_rgb.astype(np.float32), -1, 0)  # (F, H, W) each
    norm2 = r * r + g * g + b * b  # (F, H, W): |x - b|^2
    residual2 = np.empty((len(COLOURS), *clip.shape[:-1]), dtype=np.float32)  # (K, F, H, W) squared distance to segment
    coverage = np.empty((len(COLOURS), *clip.shape[:-1]), dtype=np.float32)  # (K, F, H, W) position along it
    for k, rgb in enumerate(COLOURS.values()):
        v = np.asarray(rgb, dtype=np.float32) - background_rgb.astype(np.float32)  # (3,)
        vv = max(float(v @ v), 1e-6)
        dot = v[0] * r + v[1] * g + v[2] * b  # (F, H, W)
        alpha = np.clip(dot / vv, 0.0, 1.0)  # (F, H, W)
        residual2[k] = norm2 - alpha * (2 * dot - alpha * vv)  # |x - b - alpha v|^2
        coverage[k] = alpha
    nearest = residual2.argmin(0)  # (F, H, W)
    best = np.take_along_axis(residual2, nearest[None], 0)[0]  # (F, H, W)
    muddy = best > MUDDY_DISTANCE**2  # (F, H, W)
    along = np.take_along_axis(coverage, nearest[None], 0)[0]  # (F, H, W)
    return np.where(muddy, -1, nearest), np.where(muddy, 0.0, along)


def _soft_squareness(weights: np.ndarray) -> float:
    """E[dx^2 dy^2] / (E[dx^2] E[dy^2]) under (h, w) weights; a square blurred along x and y apart stays at 1."""
    ys, xs = np.mgrid[0 : weights.shape[0], 0 : weights.shape[1]]  # (h, w) each
    total = max(float(weights.sum()), 1e-9)
    cx, cy = float((weights * xs).sum()) / total, float((weights * ys).sum()) / total
    dx2, dy2 = (xs - cx) ** 2, (ys - cy) ** 2  # (h, w) each
    ex, ey = float((weights * dx2).sum()) / total, float((weights * dy2).sum()) / total
    return float((weights * dx2 * dy2).sum()) / total / max(ex * ey, 1e-9)


def _largest_blob(mask: np.ndarray, soft: np.ndarray, margin: int) -> _Blob | None:
    """The largest 4-connected component of a boolean (H, W) mask, None if empty; soft (H, W) weighs its rim."""
    labels, n = ndimage.label(mask)  # (H, W)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]  # (n,)
    component = labels == 1 + int(sizes.argmax())  # (H, W)
    ys, xs = np.nonzero(component)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    middle = (y0 + y1) / 2
    above, below = int((ys < middle).sum()), int((ys > middle).sum())
    height, width = mask.shape
    window = soft[max(y0 - margin, 0) : y1 + margin + 1, max(x0 - margin, 0) : x1 + margin + 1]  # (h, w)
    return _Blob(
        area=int(ys.size),
        centroid=(float(xs.mean()), float(ys.mean())),
        width=int(x1 - x0 + 1),
        height=int(y1 - y0 + 1),
        squareness=_soft_squareness(window),
        top_fraction=above / max(above + below, 1),
        touches_border=bool(x0 == 0 or y0 == 0 or x1 == width - 1 or y1 == height - 1),
    )


def _theil_sen_slope(t: np.ndarray, v: np.ndarray) -> float:
    """Median of the pairwise slopes of v over t (robust to a few occluded or noisy frames)."""
    i, j = np.triu_indices(t.size, k=1)
    return float(np.median((v[j] - v[i]) / (t[j] - t[i])))


def read_motion(centroids: list[tuple[float, float] | None], scale: float) -> str | None:
    """Motion name from a centroid track (one (x, y) or None per frame); None if fewer than 2 frames seen."""
    seen = [(f, c) for f, c in enumerate(centroids) if c is not None]
    if len(seen) < 2:
        return None
    t = np.array([f for f, _ in seen], dtype=np.float64)  # (n,)
    xy = np.array([c for _, c in seen], dtype=np.float64)  # (n, 2)
    span = len(centroids) - 1
    dx, dy = (_theil_sen_slope(t, xy[:, k]) * span for k in (0, 1))
    if math.hypot(dx, dy) < STILL_DISPLACEMENT * scale:
        return "still"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"  # image y grows downwards


def _steady_blobs(blobs: list[_Blob]) -> list[_Blob]:
    """The blobs fit to read a silhouette from: not cut by the frame edge, not much occluded."""
    inside = [b for b in blobs if not b.touches_border] or blobs
    median_area = float(np.median([b.area for b in inside]))
    return [b for b in inside if b.area >= OCCLUSION_AREA_FRACTION * median_area]


def read_shape(blobs: list[_Blob]) -> str | None:
    """Shape name from a silhouette: triangles are bottom-heavy, squares have x and y spread independent."""
    if not blobs:
        return None
    if float(np.median([b.top_fraction for b in blobs])) < TRIANGLE_TOP_FRACTION:
        return "triangle"
    return "square" if float(np.median([b.squareness for b in blobs])) >= SQUARENESS else "circle"


def read_size(blobs: list[_Blob], scale: float) -> str | None:
    """Size name from the median bounding-box side, against the midpoint of small (2r+1) and large sides."""
    if not blobs:
        return None
    side = float(np.median([max(b.width, b.height) for b in blobs]))
    small, large = (2 * int(round(SIZES[s] * scale)) + 1 for s in ("small", "large"))
    return "small" if side < (small + large) / 2 else "large"


def _judge_colour(
    nearest: np.ndarray, coverage: np.ndarray, index: int, colour: str, scale: float
) -> JudgedObject | None:
    """Read the object of one colour from the pixel reading (F, H, W) x 2; None if that colour shows no object."""
    min_pixels = MIN_BLOB_PIXELS * scale * scale
    margin = max(int(math.ceil(SOFT_MARGIN * scale)), 1)
    frames = nearest.shape[0]
    ours = nearest == index  # (F, H, W)
    mask = ours & (coverage >= EDGE_COVERAGE)  # (F, H, W)
    counts = mask.reshape(frames, -1).sum(1)  # (F,)
    if (counts >= min_pixels).sum() < MIN_PRESENT_FRACTION * frames:
        return None
    soft = np.where(ours & (coverage >= SOFT_COVERAGE), coverage, 0.0)  # (F, H, W)
    blobs: list[_Blob | None] = []
    for f in range(frames):
        blob = _largest_blob(mask[f], soft[f], margin) if counts[f] >= min_pixels else None
        blobs.append(blob if blob is not None and blob.area >= min_pixels else None)
    seen = [b for b in blobs if b is not None]
    if len(seen) < MIN_PRESENT_FRACTION * frames:
        return None
    steady = _steady_blobs(seen)
    centroids = tuple(b.centroid if b is not None else None for b in blobs)
    return JudgedObject(
        colour=colour,
        shape=read_shape(steady),
        size=read_size(steady, scale),
        motion=read_motion(list(centroids), scale),
        centroids=centroids,
        area=float(np.mean([b.area for b in seen])),
    )


def judge_clip(clip: np.ndarray) -> JudgedClip:
    """Read background and objects of a uint8 clip (F, H, W, 3) from its pixels."""
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"expected a clip (F, H, W, 3), got shape {clip.shape}")
    scale = min(clip.shape[1], clip.shape[2]) / BASE_SIZE
    background, background_rgb = read_background(clip)
    nearest, coverage = classify_pixels(clip, background_rgb)  # (F, H, W) each
    objects = []
    for index, colour in enumerate(COLOURS):
        obj = _judge_colour(nearest, coverage, index, colour, scale)
        if obj is not None:
            objects.append(obj)
    return JudgedClip(background=background, objects=tuple(objects))


REPORT_ATTRIBUTES = ("colour", "shape", "motion", "size", "background", "count")  # the keys of attribute_report
BAR_ATTRIBUTES = ("colour", "shape", "motion")  # the quality bars' "all three attributes right"


def attribute_rates(reports: list[dict[str, bool]], attributes: tuple[str, ...] = REPORT_ATTRIBUTES,
                    all_of: tuple[str, ...] | None = None) -> dict[str, float]:
    """Share of clips with each attribute right, and `all`: the share with every one of `all_of` (default:
    `attributes`) right, from attribute_report dicts."""
    if not reports:
        raise ValueError("no reports")
    rates = {a: float(np.mean([r[a] for r in reports])) for a in attributes}
    rates["all"] = float(np.mean([all(r[a] for a in (all_of or attributes)) for r in reports]))
    return rates


def matched_objects(judged: JudgedClip, spec: ClipSpec) -> list[JudgedObject | None]:
    """For each object of the spec, the judged object of its colour (None where that colour was not found)."""
    found = {o.colour: o for o in judged.objects}
    return [found.get(o.colour) for o in spec.objects]


def attribute_report(judged: JudgedClip, spec: ClipSpec) -> dict[str, bool]:
    """Per attribute, whether the judge read it as the spec says: colour, shape, motion, size, background, count."""
    matched = matched_objects(judged, spec)
    report = {"colour": all(m is not None for m in matched)}
    for attr in ("shape", "motion", "size"):
        report[attr] = all(
            m is not None and getattr(m, attr) == getattr(o, attr)
            for m, o in zip(matched, spec.objects)
        )
    report["background"] = judged.background == spec.background
    report["count"] = len(judged.objects) == len(spec.objects)
    return report


def shape_misreads(judged: JudgedClip, spec: ClipSpec) -> list[str]:
    """For each object of the spec whose shape the judge read otherwise: "circle as square" ("as nothing" when its
    colour was not found, "as unreadable" when no shape could be read)."""
    reads = ["nothing" if m is None else (m.shape or "unreadable") for m in matched_objects(judged, spec)]
    return [f"{o.shape} as {read}" for o, read in zip(spec.objects, reads) if read != o.shape]


def attributes_match(
    judged: JudgedClip, spec: ClipSpec, attrs: tuple[str, ...] = ("colour", "shape", "motion")
) -> bool:
    """Whether every spec object has a judged object of its colour agreeing on attrs, and nothing extra was found."""
    report = attribute_report(judged, spec)
    return report["count"] and report["colour"] and all(report[a] for a in attrs)


def _reading(clip: JudgedClip) -> tuple[str | None, tuple[tuple[str, str | None, str | None, str | None], ...]]:
    """What a judged clip says, with the per-frame measurements left out; objects in colour order."""
    objects = sorted(clip.objects, key=lambda o: o.colour)
    return clip.background, tuple((o.colour, o.shape, o.size, o.motion) for o in objects)


def same_reading(a: JudgedClip, b: JudgedClip) -> bool:
    """Whether two clips read the same: same background and same (colour, shape, size, motion) set."""
    return _reading(a) == _reading(b)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays (peak 255); PSNR_IDENTICAL (inf) when equal."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_IDENTICAL if mse == 0 else 10 * math.log10(255.0**2 / mse)
