"""A static PNG copy of a plotly figure, drawn with Pillow, so that a notebook committed with its outputs shows
its figures on a code host (which runs no JavaScript). plotly's own static export needs kaleido and a browser.

`static_copies()` makes every `fig.show()` in a notebook emit the interactive figure and this PNG in one output:
JupyterLab shows the figure, a code host the PNG. The copy draws what the notebooks use (scatter lines and
markers, bars, histograms, heatmaps, images, tables, line and rect shapes, annotations, titles, legends) on
linear or log axes; it is a faithful sketch, not plotly's renderer.
"""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np

COLOURWAY = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880")
PLASMA = ("#0d0887", "#7201a8", "#bd3786", "#ed7953", "#fdca26", "#f0f921")  # plotly's default colour scale
DTYPES = {"f8": np.float64, "f4": np.float32, "i4": np.int32, "i2": np.int16, "i1": np.int8, "u1": np.uint8,
          "u2": np.uint16, "u4": np.uint32}
MARGIN = dict(l=70, r=20, t=60, b=60)  # pixels around the plotting area; the legend adds rows below


def values(v) -> np.ndarray:
    """A trace's data as an array: lists, numpy arrays or plotly's base64 typed arrays ({"dtype", "bdata"})."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), DTYPES[v["dtype"]])
        shape = v.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape is not None else a
    a = np.asarray([] if v is None else v)
    return a.astype(object) if a.dtype.kind in "US" else a


def plain(text) -> str:
    """Text without plotly's HTML tags (<br> becomes a new line)."""
    return re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", str(text or "")))


def rgb(colour, fallback: str = "#444444") -> tuple[int, int, int]:
    """'#rrggbb', 'rgb(r, g, b)' or a few CSS names -> (r, g, b)."""
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(colour)[:3] if isinstance(colour, str) else ImageColor.getrgb(fallback)[:3]
    except ValueError:
        return ImageColor.getrgb(fallback)[:3]


def colour_scale(t: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (..., ) -> uint8 colours (..., 3) on the plasma scale."""
    stops = np.array([rgb(c) for c in PLASMA], np.float64)  # (S, 3)
    pos = np.clip(np.nan_to_num(t), 0, 1) * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    return (stops[lo] * (1 - frac) + stops[lo + 1] * frac).round().astype(np.uint8)


class Axis:
    """One axis of a subplot: its pixel span, data range and scale (linear, log or categories)."""

    def __init__(self, layout: dict, lo_px: float, hi_px: float, flip: bool):
        self.layout, self.log = layout, layout.get("type") == "log"
        self.lo_px, self.hi_px, self.flip = lo_px, hi_px, flip
        self.categories: list[str] = []
        self.lo, self.hi = np.inf, -np.inf
        self.pad = True  # a little room around the data, not around an image

    def add(self, v: np.ndarray) -> np.ndarray:
        """Register data on this axis (strings become category positions); returns it as numbers."""
        if v.dtype == object:
            for c in v:
                if c not in self.categories:
                    self.categories.append(c)
            v = np.array([self.categories.index(c) for c in v], np.float64)
        v = np.asarray(v, np.float64)
        finite = v[np.isfinite(v) & ((v > 0) if self.log else True)]
        if finite.size:
            self.lo, self.hi = min(self.lo, finite.min()), max(self.hi, finite.max())
        return v

    def finish(self) -> None:
        """The range: the layout's, else the data's with a small margin."""
        given = self.layout.get("range")
        if given is not None:
            self.lo, self.hi = (10 ** given[0], 10 ** given[1]) if self.log else given
        elif not np.isfinite(self.lo):
            self.lo, self.hi = (1, 10) if self.log else (0, 1)
        elif not self.categories and self.lo == self.hi:
            self.lo, self.hi = self.lo - 1, self.hi + 1
        elif self.pad and not self.categories:
            if self.log:
                self.lo, self.hi = self.lo / 1.2, self.hi * 1.2
            else:
                room = 0.04 * (self.hi - self.lo)
                self.lo, self.hi = self.lo - room, self.hi + room
        if self.categories:
            self.lo, self.hi = min(self.lo, -0.5), max(self.hi, len(self.categories) - 0.5)
        if self.layout.get("autorange") == "reversed":
            self.flip = not self.flip

    def px(self, v) -> np.ndarray:
        """Data -> pixels."""
        v = np.asarray(v, np.float64)
        lo, hi = self.lo, self.hi
        if self.log:
            v, lo, hi = np.log10(np.where(v > 0, v, np.nan)), np.log10(lo), np.log10(hi)
        f = (v - lo) / ((hi - lo) or 1.0)
        return self.hi_px - f * (self.hi_px - self.lo_px) if self.flip else self.lo_px + f * (self.hi_px - self.lo_px)

    def ticks(self) -> list[tuple[float, str]]:
        """About five (value, label) ticks."""
        if self.categories:
            step = max(1, len(self.categories) // 8)
            return [(i, str(c)) for i, c in enumerate(self.categories)][::step]
        if self.log:
            exps = range(int(np.floor(np.log10(self.lo))), int(np.ceil(np.log10(self.hi))) + 1)
            few = len(exps) < 4
            marks = [f * 10.0 ** e for e in exps for f in ((1, 2, 5) if few else (1,))]
            return [(t, f"{t:g}") for t in marks if self.lo <= t <= self.hi]
        raw = (self.hi - self.lo) / 5
        step = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1
        step *= next(s for s in (1, 2, 5, 10) if raw <= s * step)
        first = np.ceil(self.lo / step) * step
        pct = self.layout.get("tickformat", "").endswith("%")
        ticks = [0.0 if abs(t) < step / 1e6 else float(t) for t in np.arange(first, self.hi + step / 2, step)]
        return [(t, f"{t:.0%}" if pct else f"{t:.4g}") for t in ticks]


def figure_png(fig: dict, scale: int = 1) -> bytes:
    """The figure (a plotly figure or its dict) drawn as a PNG; `scale` multiplies its pixel size."""
    from PIL import Image, ImageDraw, ImageFont

    fig = fig.to_dict() if hasattr(fig, "to_dict") else fig
    layout, traces = fig.get("layout", {}), [t for t in fig.get("data", []) if t.get("visible", True) is True]
    width, height = int(layout.get("width") or 900), int(layout.get("height") or 450)
    named = [t for t in traces if t.get("name") and t.get("showlegend", True) is not False
             and t.get("type", "scatter") in ("scatter", "bar", "histogram")]
    legend_rows = (len(named) + 3) // 4 if len(named) > 1 or any(t.get("showlegend") for t in named) else 0
    height += 18 * legend_rows
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=12)
    left, right, top = MARGIN["l"], width - MARGIN["r"], MARGIN["t"]
    bottom = height - MARGIN["b"] - 18 * legend_rows
    axes = subplot_axes(layout, traces, (left, right, top, bottom))
    for name, (xa, ya) in axes.items():
        draw_frame(draw, font, xa, ya)
    for i, trace in enumerate(traces):
        colour = COLOURWAY[i % len(COLOURWAY)]
        kind = trace.get("type", "scatter")
        if kind == "table":
            draw_table(draw, font, trace, (left, right, top, bottom))
            continue
        xa, ya = axes[(trace.get("xaxis", "x"), trace.get("yaxis", "y"))]
        if kind in ("image", "heatmap"):
            paste_raster(img, trace, xa, ya)
        else:
            draw_xy(draw, trace, xa, ya, colour, i)
    draw_shapes(draw, layout.get("shapes", []), axes, (left, right, top, bottom))
    draw_annotations(draw, font, layout.get("annotations", []), axes, (left, right, top, bottom))
    title = plain((layout.get("title") or {}).get("text") if isinstance(layout.get("title"), dict) else layout.get("title"))
    if title:
        draw.text((left, 12), title, fill=(42, 63, 95), font=ImageFont.load_default(size=15))
    for j, trace in enumerate(named if legend_rows else []):
        x, y = left + (j % 4) * (right - left) // 4, bottom + 40 + 18 * (j // 4)
        colour = rgb(trace_colour(trace), COLOURWAY[traces.index(trace) % len(COLOURWAY)])
        draw.line([(x, y + 7), (x + 18, y + 7)], fill=colour, width=3)
        draw.text((x + 24, y), plain(trace["name"])[:40], fill="black", font=font)
    if scale != 1:
        img = img.resize((width * scale, height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def trace_colour(trace: dict):
    """The colour a trace names for itself (line, then marker), if any."""
    for part in ("line", "marker"):
        colour = (trace.get(part) or {}).get("color")
        if isinstance(colour, str):
            return colour
    return None


def subplot_axes(layout: dict, traces: list[dict], box) -> dict:
    """(xaxis, yaxis) name pair -> (Axis, Axis), placed by the layout's domains, ranged over their traces."""
    left, right, top, bottom = box
    pairs = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in traces if t.get("type") != "table"}
    if not traces:
        pairs = {("x", "y")}
    axes = {}
    for xn, yn in sorted(pairs):
        xl, yl = layout.get("xaxis" + xn[1:], {}), layout.get("yaxis" + yn[1:], {})
        (x0, x1), (y0, y1) = xl.get("domain", [0, 1]), yl.get("domain", [0, 1])
        xa = Axis(xl, left + x0 * (right - left), left + x1 * (right - left), flip=False)
        ya = Axis(yl, bottom - y1 * (bottom - top), bottom - y0 * (bottom - top), flip=True)
        axes[xn, yn] = (xa, ya)
    for t in traces:
        if t.get("type") == "table":
            continue
        xa, ya = axes[(t.get("xaxis", "x"), t.get("yaxis", "y"))]
        kind = t.get("type", "scatter")
        if kind in ("image", "heatmap"):
            h, w = raster(t).shape[:2]
            for axis, key in ((xa, "x"), (ya, "y")):
                if t.get(key) is not None:
                    axis.add(values(t[key]))  # names of columns or rows: categories at 0, 1, ...
            x0, y0, dx, dy = t.get("x0", 0), t.get("y0", 0), t.get("dx", 1), t.get("dy", 1)
            xa.add(np.array([x0 - dx / 2, x0 + (w - 0.5) * dx]))
            ya.add(np.array([y0 - dy / 2, y0 + (h - 0.5) * dy]))
            ya.flip = kind == "heatmap"  # images run downwards, heatmaps upwards
            xa.pad = ya.pad = False
            continue
        xs, ys = xy(t)
        xa.add(xs)
        ya.add(ys)
        if kind in ("bar", "histogram"):
            ya.add(np.array([0.0]))
            ya.pad = False
    for xa, ya in axes.values():
        xa.finish()
        ya.finish()
        if not xa.pad and not ya.pad:  # an image keeps its aspect ratio
            keep_aspect(xa, ya)
    return axes


def keep_aspect(xa: Axis, ya: Axis) -> None:
    """Shrink one side of the plotting area so that a data unit is as wide as it is tall."""
    width, height = xa.hi_px - xa.lo_px, ya.hi_px - ya.lo_px
    ratio = (xa.hi - xa.lo) / ((ya.hi - ya.lo) or 1.0)
    if width / height > ratio:
        xa.hi_px = xa.lo_px + height * ratio
    else:
        ya.hi_px = ya.lo_px + width / ratio


def xy(trace: dict) -> tuple[np.ndarray, np.ndarray]:
    """A trace's x and y (a histogram's bin centres and counts; a missing x is 0, 1, ...)."""
    if trace.get("type") == "histogram":
        data = np.asarray(values(trace.get("x")), np.float64)
        bins = trace.get("xbins") or {}
        edges = (np.arange(bins["start"], bins["end"] + bins["size"] / 2, bins["size"]) if "size" in bins
                 else np.histogram_bin_edges(data, 20))
        counts, edges = np.histogram(data, edges)
        return (edges[:-1] + edges[1:]) / 2, counts.astype(np.float64)
    ys = values(trace.get("y"))
    xs = values(trace.get("x")) if trace.get("x") is not None else np.arange(len(ys))
    return (ys, xs) if trace.get("orientation") == "h" else (xs, ys)


def draw_frame(draw, font, xa: Axis, ya: Axis) -> None:
    """The plotting area's background, grid, tick labels and axis titles."""
    x0, x1, y0, y1 = xa.lo_px, xa.hi_px, ya.lo_px, ya.hi_px
    draw.rectangle([x0, y0, x1, y1], fill=(229, 236, 246))
    for v, label in xa.ticks():
        x = float(xa.px(v))
        draw.line([(x, y0), (x, y1)], fill="white")
        draw.text((x, y1 + 4), label, fill=(42, 63, 95), font=font, anchor="ma")
    for v, label in ya.ticks():
        y = float(ya.px(v))
        draw.line([(x0, y), (x1, y)], fill="white")
        draw.text((x0 - 4, y), label, fill=(42, 63, 95), font=font, anchor="rm")
    for axis, at, anchor in ((xa, ((x0 + x1) / 2, y1 + 20), "ma"), (ya, (x0 - 4, y0 - 14), "ls")):
        title = axis.layout.get("title")
        text = plain(title.get("text") if isinstance(title, dict) else title)
        if text:
            draw.text(at, text, fill=(42, 63, 95), font=font, anchor=anchor)


def draw_xy(draw, trace: dict, xa: Axis, ya: Axis, fallback: str, index: int) -> None:
    """Scatter lines and markers, bars and histograms."""
    colour = rgb(trace_colour(trace), fallback)
    xs, ys = xy(trace)
    px_x, px_y = xa.px(xa.add(xs)), ya.px(ya.add(ys))
    kind = trace.get("type", "scatter")
    if kind in ("bar", "histogram"):
        spacing = np.diff(np.sort(px_x)) if len(px_x) > 1 else np.array([abs(xa.hi_px - xa.lo_px) / 2])
        half = (0.5 if kind == "histogram" else 0.4) * float(np.min(spacing))
        base = float(ya.px(max(ya.lo, 0) if not ya.log else ya.lo))
        for x, y in zip(px_x, px_y):
            if np.isfinite(x) and np.isfinite(y):
                draw.rectangle([x - half, min(y, base), x + half, max(y, base)], fill=colour)
        return
    mode = trace.get("mode", "lines+markers" if len(px_x) < 20 else "lines")
    points = [(float(x), float(y)) for x, y in zip(px_x, px_y) if np.isfinite(x) and np.isfinite(y)]
    if "lines" in mode and len(points) > 1:
        draw.line(points, fill=colour, width=max(1, int((trace.get("line") or {}).get("width", 2))))
    if "markers" in mode:
        size = (trace.get("marker") or {}).get("size", 6)
        r = max(1.5, (size if np.isscalar(size) else 6) / 2)
        for x, y in points:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def raster(trace: dict) -> np.ndarray:
    """An image trace's pixels (H, W, 3) uint8, or a heatmap's values (H, W)."""
    from PIL import Image

    if trace.get("source"):
        data = base64.b64decode(trace["source"].split(",", 1)[1])
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    z = np.asarray(values(trace.get("z")), np.float64)
    return z.astype(np.uint8) if trace.get("type") == "image" else z


def paste_raster(img, trace: dict, xa: Axis, ya: Axis) -> None:
    """An image, or a heatmap on the colour scale, stretched over its data extent."""
    from PIL import Image

    pixels = raster(trace)
    if pixels.ndim == 2:
        lo, hi = trace.get("zmin", np.nanmin(pixels)), trace.get("zmax", np.nanmax(pixels))
        pixels = colour_scale((pixels - lo) / ((hi - lo) or 1.0))
        pixels = pixels[::-1] if ya.flip else pixels  # row 0 at the bottom, unless the axis is reversed
    h, w = pixels.shape[:2]
    x0, y0, dx, dy = trace.get("x0", 0), trace.get("y0", 0), trace.get("dx", 1), trace.get("dy", 1)
    xs = xa.px([x0 - dx / 2, x0 + (w - 0.5) * dx])
    ys = ya.px([y0 - dy / 2, y0 + (h - 0.5) * dy])
    box = [int(round(min(xs))), int(round(min(ys))), int(round(max(xs))), int(round(max(ys)))]
    size = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
    img.paste(Image.fromarray(np.ascontiguousarray(pixels)).resize(size, Image.NEAREST), box[:2])


def position(ref: str, v: float, axes: dict, box, horizontal: bool) -> float:
    """A shape's or annotation's coordinate in pixels: 'paper', an axis ('x2') or its domain ('x2 domain')."""
    left, right, top, bottom = box
    if ref == "paper":
        return left + v * (right - left) if horizontal else bottom - v * (bottom - top)
    name = ref.split()[0]
    pair = next((p for p in axes if p[0 if horizontal else 1] == name), None)
    if pair is None:
        return left if horizontal else bottom
    axis = axes[pair][0 if horizontal else 1]
    if ref.endswith("domain"):
        return axis.lo_px + v * (axis.hi_px - axis.lo_px) if horizontal else axis.hi_px - v * (axis.hi_px - axis.lo_px)
    if isinstance(v, str):
        v = axis.categories.index(v) if v in axis.categories else 0
    return float(axis.px(v))


def draw_shapes(draw, shapes: list[dict], axes: dict, box) -> None:
    """Lines (add_vline, add_hline) and rectangles."""
    for s in shapes:
        xr, yr = s.get("xref", "x"), s.get("yref", "y")
        x0, x1 = (position(xr, s.get(k, 0), axes, box, True) for k in ("x0", "x1"))
        y0, y1 = (position(yr, s.get(k, 0), axes, box, False) for k in ("y0", "y1"))
        colour = rgb((s.get("line") or {}).get("color"), "#2a3f5f")
        if s.get("type") == "rect":
            draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=colour, width=2)
        else:
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=2)


def draw_annotations(draw, font, annotations: list[dict], axes: dict, box) -> None:
    """Annotations, subplot titles among them, anchored as plotly anchors them."""
    for a in annotations:
        x = position(a.get("xref", "x"), a.get("x", 0), axes, box, True)
        y = position(a.get("yref", "y"), a.get("y", 0), axes, box, False)
        h = {"left": "l", "right": "r"}.get(a.get("xanchor"), "m")
        v = {"bottom": "d", "top": "a"}.get(a.get("yanchor"), "m")
        draw.multiline_text((x, y), plain(a.get("text")), fill=(42, 63, 95), font=font, anchor=h + v, align="center")


def draw_table(draw, font, trace: dict, box) -> None:
    """A table trace: its header and cells as rows of text."""
    left, right, top, bottom = box
    header = [plain(h) for h in values((trace.get("header") or {}).get("values"))]
    columns = [[plain(c) for c in col] for col in (trace.get("cells") or {}).get("values", [])]
    rows = [header] + [list(r) for r in zip(*columns)] if columns else [header]
    width = (right - left) / max(1, len(header))
    for i, row in enumerate(rows[: int((bottom - top) // 18)]):
        y = top + 18 * i
        draw.rectangle([left, y, right, y + 17], fill=(200, 212, 227) if i == 0 else (235, 240, 248))
        for j, cell in enumerate(row):
            draw.text((left + j * width + 4, y + 2), str(cell)[:40], fill="black", font=font)


def static_copies() -> None:
    """Make `fig.show()` emit the interactive figure and its PNG copy together (plotly's renderer registry)."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class PngCopy(MimetypeRenderer):
        """The figure's PNG copy as an image/png output."""

        def to_mimebundle(self, fig_dict: dict) -> dict:
            return {"image/png": base64.b64encode(figure_png(fig_dict)).decode()}

    pio.renderers["accvideo_png"] = PngCopy()
    pio.renderers.default = "plotly_mimetype+accvideo_png"


def mime_bundle(fig) -> dict:
    """A figure as the output `static_copies` gives it: plotly's JSON and the PNG copy."""
    return {"application/vnd.plotly.v1+json": json.loads(fig.to_json()),
            "image/png": base64.b64encode(figure_png(fig)).decode(), "text/plain": "figure"}
