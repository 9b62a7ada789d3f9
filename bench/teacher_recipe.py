"""Teacher recipe search: train one arm for a fixed wall-clock budget, then score it on the fast proxy.

Each arm is a TeacherTrainConfig (architecture preset, caption schedule, batch, learning rate, training
sigma shift). The score is the proxy of accvideo.training.proxy on the arm's EMA weights: judged accuracy
on canonical eval prompts (colour, shape, motion, size, all three; I2V motion and frame-0 PSNR) and the
loss rise per swapped caption word. One row per arm is appended to OUT/arms.csv; `--table` prints them all
as markdown.

    python bench/teacher_recipe.py --arm hy-canonical --minutes 25 --preset shapes-hy --canonical-until 100000
    python bench/teacher_recipe.py --arm wan-xs-mix --minutes 25 --preset shapes-xs --batch-size 16 --lr 5e-4
    python bench/teacher_recipe.py --table
    python bench/teacher_recipe.py --curve runs/my-arm     # a run's proxy.csv as markdown
    python bench/teacher_recipe.py --curve assets/teacher --svg assets/teacher/curve.svg   # and as a plot

An arm stopped early continues where it was (its run folder resumes bit-exactly); a finished arm is not
trained again.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

from accvideo.commands.common import add_config_options, config_from_args
from accvideo.resumable.state import CHECKPOINT, load_checkpoint
from accvideo.training.proxy import ProxySettings, proxy_eval
from accvideo.training.teacher import TeacherTrainConfig, build_model, proxy_parts, train_teacher

ARM_FIELDS = ("preset", "batch_size", "lr", "canonical_until", "canonical_fraction", "train_shift", "ema")


def run_arm(args: argparse.Namespace) -> dict:
    """Train (or finish training) one arm and score its EMA weights."""
    out = Path(args.out) / args.arm
    cfg = config_from_args(TeacherTrainConfig, args, out=str(out), max_minutes=args.minutes)
    resume = (out / CHECKPOINT).is_file()
    if not resume or load_checkpoint(out / CHECKPOINT)["elapsed"] < 60 * args.minutes:
        train_teacher(cfg, resume=resume)
    state = load_checkpoint(out / CHECKPOINT)
    model = build_model(cfg)
    model.load_state_dict(state["ema"])
    scores = proxy_eval(model.eval(), *proxy_parts(cfg), ProxySettings(prompts=args.prompts))
    row = {"arm": args.arm, "minutes": round(state["elapsed"] / 60, 1), "steps": state["step"],
           "cpu_minutes": round(state.get("cpu_seconds", 0.0) / 60, 1),
           **{k: getattr(cfg, k) for k in ARM_FIELDS}, **{k: round(v, 4) for k, v in scores.items()}}
    table = Path(args.out) / "arms.csv"
    new = not table.is_file()
    with table.open("a", newline="") as f:
        writer = csv.DictWriter(f, list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
    return row


def markdown(path: Path) -> str:
    """arms.csv as a markdown table: rise and judged accuracy per arm."""
    rows = list(csv.DictReader(path.open()))
    cols = ["arm", "preset", "minutes", "steps", "rise_motion", "rise_shape", "rise_colour", "t2v_motion",
            "t2v_shape", "t2v_all_three", "i2v_motion"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{100 * float(r[c]):.1f} %" if c.startswith(("rise", "t2v", "i2v")) else r[c] for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve(path: Path) -> str:
    """A run's proxy.csv (its learning curve) as a markdown table against wall and CPU minutes."""
    rows = list(csv.DictReader(path.open()))
    cols = ["step", "wall_minutes", "cpu_minutes", "t2v_colour", "t2v_shape", "t2v_motion", "t2v_size",
            "t2v_all_three", "i2v_motion", "i2v_frame0_psnr", "rise_colour", "rise_shape", "rise_motion"]
    lines = ["| " + " | ".join(c.replace("_", " ") for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r[c] if c == "step" else f"{float(r[c]):.0f}" if c.endswith("minutes")
                 else f"{float(r[c]):.1f} dB" if c.endswith("psnr") else f"{100 * float(r[c]):.1f} %"
                 for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


CURVE_LINES = (("t2v_all_three", "T2V all three right (proxy)", "#d62728"),
               ("t2v_shape", "T2V shape right", "#ff9896"),
               ("i2v_motion", "I2V motion right", "#1f77b4"))


def curve_svg(path: Path) -> str:
    """A run's proxy.csv as an SVG line plot: judged rates (%) against CPU minutes, the bar's 90 % dashed."""
    from bench.svg_plot import Series, line_plot_svg

    rows = list(csv.DictReader(path.open()))
    x = [float(r["cpu_minutes"]) for r in rows]
    series = [Series(label, x, [float(r[column]) for r in rows], colour) for column, label, colour in CURVE_LINES]
    return line_plot_svg(series, "CPU minutes (one core)", list(range(0, int(max(x)) + 1, 60)), hline=(0.9, "bar"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arm", help="the arm's name (its run folder under --out)")
    p.add_argument("--minutes", type=float, default=25.0, help="wall-clock training budget of the arm")
    p.add_argument("--out", default="runs/recipe", help="the arms' folder: one run folder per arm, arms.csv")
    add_config_options(p, TeacherTrainConfig, skip=("out", "max_minutes"))  # any setting can differ between arms
    p.set_defaults(steps=20000, ema=0.995, threads=1)  # the cosine horizon (the budget ends an arm first)
    p.add_argument("--prompts", type=int, default=48, help="canonical eval prompts of the proxy")
    p.add_argument("--table", action="store_true", help="print OUT/arms.csv as markdown and exit")
    p.add_argument("--curve", help="print this run folder's proxy.csv (its learning curve) as markdown and exit")
    p.add_argument("--svg", help="with --curve: also draw it into this SVG file")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.curve:
        print(curve(Path(args.curve) / "proxy.csv"))
        if args.svg:
            Path(args.svg).write_text(curve_svg(Path(args.curve) / "proxy.csv"))
        return
    if args.table:
        print(markdown(Path(args.out) / "arms.csv"))
        return
    if not args.arm:
        p.error("--arm is required to train an arm")
    print(json.dumps(run_arm(args)))


if __name__ == "__main__":
    main()
