"""Write an evaluation's results: metrics.json (every number), metrics.md (tables), report.html (plotly bars)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from accvideo.evaluation.runner import Results

JSON_FILE, MARKDOWN_FILE, HTML_FILE = "metrics.json", "metrics.md", "report.html"
TASK_TITLES = {"t2v": "Text-to-video", "i2v": "Image-to-video"}


@dataclass(frozen=True)
class Column:
    """One metric as tables and charts show it."""

    key: str  # the key in metrics.json
    label: str  # column header / chart title
    better: str  # "higher", "lower", or "" (cost or context)
    digits: int  # decimals in the markdown table


COLUMNS = (
    Column("steps", "steps", "", 0),
    Column("nfe", "NFE", "lower", 0),
    Column("seconds_per_clip", "s / clip", "lower", 3),
    Column("attribute_accuracy", "all attributes", "higher", 3),
    Column("colour_accuracy", "colour", "higher", 3),
    Column("shape_accuracy", "shape", "higher", 3),
    Column("motion_accuracy", "motion", "higher", 3),
    Column("size_accuracy", "size", "higher", 3),
    Column("background_accuracy", "background", "higher", 3),
    Column("count_accuracy", "count", "higher", 3),
    Column("frechet_distance", "Fréchet distance", "lower", 3),
    Column("temporal_flicker", "flicker (RGB)", "lower", 2),
    Column("subject_consistency", "subject consistency", "higher", 3),
    Column("sharpness", "sharpness (rendered = 1)", "higher", 3),
    Column("shape_fidelity", "shape fidelity", "higher", 3),
    Column("teacher_psnr_db", "teacher PSNR (dB)", "higher", 2),
    Column("teacher_ssim", "teacher SSIM", "higher", 3),
    Column("frame0_psnr_db", "frame-0 PSNR (dB)", "higher", 2),
)
CHART_KEYS = tuple(c.key for c in COLUMNS if c.key not in ("steps", "colour_accuracy", "shape_accuracy",
                                                            "size_accuracy", "background_accuracy", "count_accuracy"))
CHART_COLUMNS = 3  # subplots per row in report.html


def _tasks(results: Results) -> list[str]:
    """The tasks present, in the order the results hold them."""
    return list(dict.fromkeys(task for per_task in results.values() for task in per_task))


def _present(results: Results, task: str) -> list[Column]:
    """The columns with a value for at least one spec on a task."""
    return [c for c in COLUMNS if any(r.get(task, {}).get(c.key) is not None for r in results.values())]


def _cell(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def markdown_table(results: Results, task: str) -> str:
    """A markdown table of one task: one row per spec, one column per metric present."""
    columns = _present(results, task)
    arrows = {"higher": " ↑", "lower": " ↓", "": ""}
    lines = ["| model | " + " | ".join(c.label + arrows[c.better] for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for spec, per_task in results.items():
        if task in per_task:
            cells = [_cell(per_task[task].get(c.key), c.digits) for c in columns]
            lines.append(f"| {spec.replace('|', '&#124;')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(results: Results, config: dict, path: Path) -> None:
    """metrics.md: what was run, then a table per task."""
    parts = [f"# Evaluation: {', '.join(results)}", "",
             f"{config['prompts']} eval prompts (seeds {config['eval_seeds'][0]} to {config['eval_seeds'][1]}), "
             f"teacher fidelity against {config['reference'] or 'no reference (no teacher at full steps given)'}. "
             "↑ higher is better, ↓ lower is better; sharpness is edge energy over the rendered clip's.", ""]
    ceiling = config.get("shape_fidelity_ceiling")
    if ceiling:
        parts += [f"Shape fidelity ceiling (the prompts' rendered clips through {ceiling['vae_of']}'s VAE): "
                  f"{ceiling['value']:.3f}.", ""]
    for task in _tasks(results):
        parts += [f"## {TASK_TITLES.get(task, task)} ({task})", "", markdown_table(results, task), ""]
    path.write_text("\n".join(parts), encoding="utf-8")


def write_json(results: Results, config: dict, path: Path) -> None:
    """metrics.json: {"config": ..., "results": {spec: {task: {metric: value, "per_clip": {metric: [values]}}}}}.

    The per-prompt values (runner.per_clip_values) sit under "per_clip" beside the summary metrics; the
    tables and charts read only the summary.
    """
    path.write_text(json.dumps({"config": config, "results": results}, indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")


def write_html(results: Results, config: dict, path: Path) -> None:
    """report.html: a bar chart per metric, specs side by side per task; plotly.js embedded (works offline)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    tasks = _tasks(results)
    keys = [k for k in CHART_KEYS if any(r.get(t, {}).get(k) is not None for r in results.values() for t in tasks)]
    columns = {c.key: c for c in COLUMNS}
    rows = math.ceil(len(keys) / CHART_COLUMNS)
    arrows = {"higher": " (higher is better)", "lower": " (lower is better)", "": ""}
    fig = make_subplots(rows=rows, cols=CHART_COLUMNS, subplot_titles=[columns[k].label + arrows[columns[k].better]
                                                                       for k in keys])
    palette = qualitative.Plotly
    for n, key in enumerate(keys):
        row, col = n // CHART_COLUMNS + 1, n % CHART_COLUMNS + 1
        for i, (spec, per_task) in enumerate(results.items()):
            values = [per_task.get(t, {}).get(key) for t in tasks]
            fig.add_trace(go.Bar(name=spec, x=[t.upper() for t in tasks], y=values, legendgroup=spec,
                                 showlegend=n == 0, marker_color=palette[i % len(palette)]), row=row, col=col)
    fig.update_layout(barmode="group", height=300 * rows + 120, title=f"accvideo eval: {config['prompts']} prompts, "
                      f"reference {config['reference'] or 'none'}")
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def write_report(results: Results, config: dict, out: Path) -> list[Path]:
    """Write metrics.json, metrics.md and report.html into the folder out; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / JSON_FILE, out / MARKDOWN_FILE, out / HTML_FILE]
    write_json(results, config, paths[0])
    write_markdown(results, config, paths[1])
    write_html(results, config, paths[2])
    return paths
