"""Learning curve of a distillation run: colour, shape and motion all right against iteration.

    python bench/distill_curve.py --out runs/curve/full --iters 300 --every 50 --prompts 100 --threads 1 -- \\
        --recipe shipped --onpolicy 0 --data runs/synvid --teacher teacher
    python bench/distill_curve.py --out runs/curve/traj ... -- ... --no-adv      # the same run without Eq. 7-8
    python bench/distill_curve.py --svg docs/distill_curve.svg runs/curve/full runs/curve/traj

The run goes in stretches of --every iterations (`accvideo distill --iters` up to the stretch's end, then
`--resume` with the next end, which is bit-exact, so the last stretch ends with the student an uninterrupted run
gives). After each stretch the
student of the latest checkpoint is exported (`--export-checkpoint`) and judged on the first --prompts
eval prompts (canonical captions, its own steps, T2V and I2V) into OUT/curve.csv. A stretch already in the
CSV is not redone, so an interrupted curve continues where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import torch

from bench.svg_plot import COLOURS, Series, line_plot_svg

FIELDS = ("iteration", "t2v_all_three", "t2v_shape", "i2v_all_three", "i2v_frame0_psnr_db")


def done_rows(path: Path) -> list[dict]:
    """The curve's rows so far (none when the CSV is missing)."""
    return list(csv.DictReader(path.open())) if path.is_file() else []


def stretch_command(out: Path, stop: int, threads: int, flags: list[str]) -> list[str]:
    """`accvideo distill` (its `flags`) up to iteration `stop`, resuming the run's checkpoint when it has one."""
    cmd = [sys.executable, "-m", "accvideo", "distill", *flags, "--out", str(out), "--iters", str(stop),
           "--threads", str(threads)]
    if (out / "checkpoint-rank0.json").is_file():
        cmd.append("--resume")
    return cmd


def judge(folder: Path, prompts: int, threads: int) -> dict:
    """One curve row's figures for the student in `folder`."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.quality import eval_prompts, measure

    torch.set_num_threads(threads)
    gen = VideoGenerator.from_folder(str(folder))
    canonical = eval_prompts(prompts, style="canonical")
    t2v = measure(gen, canonical, None, "t2v", desc="t2v")
    i2v = measure(gen, canonical, None, "i2v", desc="i2v")
    return {"t2v_all_three": t2v["all_three_right"], "t2v_shape": t2v["shape_right"],
            "i2v_all_three": i2v["all_three_right"], "i2v_frame0_psnr_db": i2v["frame0_psnr_db"]}


def run_curve(args: argparse.Namespace, flags: list[str]) -> Path:
    """Train in stretches and judge after each; returns the CSV."""
    from accvideo.distill.export import export_checkpoint

    out = Path(args.out)
    path = out / "curve.csv"
    seen = {int(r["iteration"]) for r in done_rows(path)}
    for stop in range(args.every, args.iters + 1, args.every):
        if stop in seen:
            continue
        subprocess.run(stretch_command(out, stop, args.threads, flags), check=True)
        row = {"iteration": stop, **judge(export_checkpoint(out), args.prompts, args.threads)}
        new = not path.is_file()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    return path


def curve_svg(runs: list[Path]) -> str:
    """T2V (solid) and I2V (dashed) all three right against iteration, one colour per run."""
    series = []
    for i, run in enumerate(runs):
        rows = done_rows(run / "curve.csv")
        xs = [float(r["iteration"]) for r in rows]
        for key, task, dashed in (("t2v_all_three", "T2V", False), ("i2v_all_three", "I2V", True)):
            series.append(Series(f"{run.name} {task}", xs, [float(r[key]) for r in rows],
                                 colour=COLOURS[i % len(COLOURS)], dashed=dashed,
                                 markers=True))
    last = max(max(s.xs) for s in series)
    return line_plot_svg(series, "distillation iteration", [0, last / 2, last], "all three right")


def main() -> None:
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="the distillation run's folder")
    p.add_argument("--iters", type=int, default=300)
    p.add_argument("--every", type=int, default=50, help="iterations between judged points")
    p.add_argument("--prompts", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--svg", help="draw the curves of the runs given as arguments into this file instead")
    p.add_argument("runs", nargs="*", help="with --svg: run folders holding curve.csv")
    args = p.parse_args(own)
    if args.svg:
        missing = [r for r in args.runs if not (Path(r) / "curve.csv").is_file()]
        if not args.runs or missing:
            p.error(f"--svg needs run folders with a curve.csv; missing: {', '.join(missing) or 'no runs given'}")
        Path(args.svg).write_text(curve_svg([Path(r) for r in args.runs]))
        return
    if not args.out or not flags:
        p.error("give --out and, after --, the `accvideo distill` flags of the run (--data, --teacher, ...)")
    if args.every < 1 or args.iters % args.every:
        p.error(f"--every must divide --iters ({args.iters}), got {args.every}")
    for row in done_rows(run_curve(args, flags)):
        print(row)


if __name__ == "__main__":
    main()
