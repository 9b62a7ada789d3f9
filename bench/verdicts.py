"""The tables and verdicts of the bench reports: metrics as markdown tables, and whether one model beats another,
decided per metric by a 95 % paired bootstrap interval over the eval prompts (accvideo.evaluation.bootstrap)."""

from __future__ import annotations

# The columns a verdict reads (all "higher is better" except the Fréchet distance)
PRIMARY = ("attribute_accuracy", "teacher_psnr_db", "frechet_distance", "sharpness")
TABLE_COLUMNS = (("attribute_accuracy", "all attr.", 3), ("colour_accuracy", "colour", 2),
                 ("shape_accuracy", "shape", 2), ("motion_accuracy", "motion", 2),
                 ("frechet_distance", "Fréchet", 2), ("temporal_flicker", "flicker", 2),
                 ("subject_consistency", "subject", 3), ("sharpness", "sharpness", 3),
                 ("shape_fidelity", "shape fidelity", 3),
                 ("teacher_psnr_db", "teacher PSNR dB", 2), ("teacher_ssim", "teacher SSIM", 3),
                 ("frame0_psnr_db", "frame-0 PSNR dB", 2), ("seconds_per_clip", "s / clip", 3))


def _fmt(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def metrics_table(results: dict, rows: list[tuple[str, str]], task: str) -> str:
    """A markdown table: one row per (label, spec), the TABLE_COLUMNS present for the task."""
    cols = [c for c in TABLE_COLUMNS if any(results[s][task].get(c[0]) is not None for _, s in rows)]
    lines = ["| model | NFE | " + " | ".join(c[1] for c in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for label, spec in rows:
        m = results[spec][task]
        lines.append(f"| {label} | {m['nfe']} | " + " | ".join(_fmt(m.get(k), d) for k, _, d in cols) + " |")
    return "\n".join(lines)


REFERENCE_PSNR = 99.0  # teacher_psnr_db of the reference itself (identical clips score 100 dB)


def verdict(results: dict, winner: str, loser: str, claim: str, names: tuple[str, str] | None = None) -> str:
    """Markdown: does `winner` beat `loser`, decided per task and primary metric by a paired bootstrap interval over
    the prompts (accvideo.evaluation.bootstrap), never by counting metrics won.

    A first line names the metrics on which the ordering holds, does not hold and is undecided; then one line per
    task and metric: winner - loser with its interval, and the verdict. `names` label the two specs (default: their
    spec texts). Teacher fidelity is left out when `loser` is the fidelity reference itself.
    """
    from accvideo.evaluation.bootstrap import DOES_NOT_HOLD, HOLDS, LEVEL, UNDECIDED, compare_per_clip
    from accvideo.evaluation.report import COLUMNS
    from accvideo.evaluation.runner import PER_CLIP

    columns = {c.key: c for c in COLUMNS}
    first, second = names or (winner, loser)
    decided: dict[str, list[str]] = {HOLDS: [], DOES_NOT_HOLD: [], UNDECIDED: []}
    lines = []
    for task in [t for t in results[winner] if t in results[loser]]:
        a, b = results[winner][task], results[loser][task]
        for key in PRIMARY:
            if a.get(key) is None or b.get(key) is None:
                continue
            if key == "teacher_psnr_db" and b[key] >= REFERENCE_PSNR:
                continue
            column, name = columns[key], f"{task} {columns[key].label}"
            d = column.digits
            if PER_CLIP not in a or PER_CLIP not in b:  # a metrics.json from before per-clip values were kept
                decided[UNDECIDED].append(name)
                lines.append(f"  - {name}: {first} {a[key]:.{d}f}, {second} {b[key]:.{d}f}: {UNDECIDED} "
                             "(no per-clip values in metrics.json: re-run `accvideo eval`)")
                continue
            o = compare_per_clip(a[PER_CLIP], b[PER_CLIP], key, higher_is_better=column.better == "higher")
            decided[o.verdict].append(name)
            lower = ", lower is better" if column.better == "lower" else ""
            lines.append(f"  - {name}: {first} - {second} = {o.difference:+.{d}f} [{o.low:+.{d}f}, {o.high:+.{d}f}]"
                         f"{lower}: {o.verdict}")
    overall = "; ".join(f"{v} on {', '.join(found)}" for v, found in decided.items() if found) or "nothing to compare"
    clips = results[winner][next(iter(results[winner]))].get("clips")
    head = (f"- **{claim}** ({first} against {second}; {LEVEL:.0%} paired bootstrap intervals over "
            f"{clips} prompts): {overall}.")
    return "\n".join([head, *lines])
