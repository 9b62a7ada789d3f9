"""A dependency-free SVG line plot for the bench scripts' figures (learning curves, quality against NFE).

plotly draws the notebooks' figures; the committed docs need a static image that a git host renders, and
plotly's static export needs an extra browser package, so the bench scripts write SVG themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#ff9896")


@dataclass(frozen=True)
class Series:
    label: str
    xs: list[float]
    ys: list[float]  # fractions in [0, 1] on the percent axis, raw values otherwise
    colour: str = ""
    dashed: bool = False
    markers: bool = False


def line_plot_svg(series: list[Series], x_label: str, x_ticks: list[float], y_label: str = "",
                  percent: bool = True, y_range: tuple[float, float] = (0.0, 1.0),
                  hline: tuple[float, str] | None = None, width: int = 640, height: int = 320) -> str:
    """The series as polylines on shared axes; a legend row under the plot; `hline` = (y, label) for a bar."""
    left, right, top, bottom = 56, 20, 20, 70
    x_lo, x_hi = min(x_ticks), max(max(x_ticks), *(max(s.xs) for s in series))
    y_lo, y_hi = y_range
    px = lambda v: left + (width - left - right) * (v - x_lo) / ((x_hi - x_lo) or 1.0)  # noqa: E731
    py = lambda v: top + (height - top - bottom) * (1 - (v - y_lo) / ((y_hi - y_lo) or 1.0))  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>']
    for i in range(6):
        v = y_lo + (y_hi - y_lo) * i / 5
        text = f"{100 * v:.0f} %" if percent else f"{v:.3g}"
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{text}</text>')
    if hline is not None:
        y, label = hline
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#555" '
                   f'stroke-dasharray="4 3"/><text x="{width - right}" y="{py(y) - 4:.1f}" '
                   f'text-anchor="end">{label}</text>')
    for t in x_ticks:
        out.append(f'<text x="{px(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - bottom + 32}" text-anchor="middle">'
               f'{x_label}</text>')
    if y_label:
        out.append(f'<text x="12" y="{top + (height - top - bottom) / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 12 {top + (height - top - bottom) / 2})">{y_label}</text>')
    for i, s in enumerate(series):
        colour = s.colour or COLOURS[i % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(s.xs, s.ys))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        if s.markers:
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in zip(s.xs, s.ys)]
        lx = left + i * (width - left - right) / len(series)
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 18:.1f}" y1="{height - 14}" y2="{height - 14}" stroke="{colour}" '
                   f'stroke-width="2"{dash}/><text x="{lx + 22:.1f}" y="{height - 10}">{s.label}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"
