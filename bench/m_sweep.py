"""Fewer steps than the paper: students with m = 5, 3, 2, 1 steps from one --keep all SynVid, beside teacher@m.

Each student is Algorithm 1 with `--student-steps m`: its key timesteps are the teacher's grid points at
j n / m (rounded: `accvideo.schedules.any_key_indices`; n = 50 is a multiple of 5 and 2, not of 3, where the
points at 17 and 33 are taken). Every student gets the same budget. One `accvideo eval` run then judges
teacher@50, teacher@m (plain Euler on the teacher's own m-step grid, with CFG: 2m NFE) and student@m (m NFE)
on the same eval prompts and noise, and the table says for each m whether student@m beats teacher@m on each
primary metric, from a 95 % paired bootstrap interval over the prompts. With --lora-rank R, a LoRA student
(`accvideo distill --lora-rank R`, the first m, the same budget) joins the same eval, beside the full student.

    python bench/m_sweep.py --synvid runs/synvid --teacher teacher --student-steps 5,3,2,1 --iters 300 --prompts 100 \
        --lora-rank 16 --svg docs/m_sweep.svg

Its tables and verdicts become the "Fewer steps than the paper" section of docs/results.md (--results), which
bench/paper_tables.py keeps when it rewrites the file.

A finished student is reused, a stopped one resumes (`--work` keeps both), and an eval whose metrics.json exists
is read back rather than run again.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import torch

from bench.distill_runs import SHIPPED_RECIPE, run_eval, train_variant
from bench.results_file import FEWER_STEPS, RESULTS, replace_section
from bench.svg_plot import Series, line_plot_svg
from bench.verdicts import metrics_table, verdict


def sweep_specs(teacher: str, finals: dict[int, Path], teacher_steps: int,
                lora: tuple[int, Path] | None = None) -> dict[str, str]:
    """Table label -> eval spec: teacher@n first (the fidelity reference), then teacher@m and student@m per m, then
    the LoRA student (its m, its exported folder) when there is one."""
    specs = {f"teacher@{teacher_steps}": f"{teacher}@{teacher_steps}"}
    for m, final in finals.items():
        specs[f"teacher@{m}"] = f"{teacher}@{m}"
        specs[f"student@{m}"] = f"{final}@{m}"
    if lora is not None:
        specs[f"LoRA student@{lora[0]}"] = f"{lora[1]}@{lora[0]}"
    return specs


def with_section(text: str, section: str) -> str:
    """`text` (a results file) with its fewer-steps section replaced by `section` (results_file.replace_section)."""
    return replace_section(text, FEWER_STEPS, section)


def quality_svg(results: dict, specs: dict[str, str], ms: list[int], task: str, key: str, label: str,
                lo_hi: tuple[float, float], percent: bool) -> str:
    """Quality (`key`) against NFE: teacher@m (2m NFE, CFG) and student@m (m NFE), teacher@n as a dashed line
    where its value lies on the plot."""
    def line(name: str) -> Series:
        points = sorted((results[specs[f"{name}@{m}"]][task]["nfe"], results[specs[f"{name}@{m}"]][task][key])
                        for m in ms)
        return Series(f"{name}@m", [p[0] for p in points], [p[1] for p in points], markers=True)

    reference = next(iter(specs.values()))
    top = results[reference][task][key]
    ticks = sorted({results[specs[f"{n}@{m}"]][task]["nfe"] for m in ms for n in ("teacher", "student")})
    hline = (top, next(iter(specs))) if lo_hi[0] <= top <= lo_hi[1] else None  # not PSNR to itself (capped)
    return line_plot_svg([line("student"), line("teacher")], "NFE (model evaluations per clip)", [0, *ticks],
                         y_label=label, percent=percent, y_range=lo_hi, hline=hline)


def train_students(args: argparse.Namespace, ms: list[int]) -> tuple[dict[int, Path], tuple[int, Path] | None]:
    """Distil (or reuse) the student of each m and, with --lora-rank, the LoRA student at the first m: every one
    with the same budget and --recipe, differing only in its step count (and adapters)."""
    finals = {m: train_variant(f"m{m}", ["--student-steps", str(m)], args) for m in ms}
    lora = None
    if args.lora_rank:
        flags = ["--student-steps", str(ms[0]), "--lora-rank", str(args.lora_rank)]
        lora = (ms[0], train_variant(f"m{ms[0]}-lora{args.lora_rank}", flags, args))
    return finals, lora


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[int]]:
    """The command line: its options and the list of m."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synvid", required=True, help="SynVid folder recorded with --keep all from the teacher")
    p.add_argument("--teacher", default="teacher")
    p.add_argument("--teacher-steps", type=int, default=50)
    p.add_argument("--student-steps", default="5,3,2,1", help="comma-separated student step counts m")
    p.add_argument("--iters", type=int, default=300, help="distillation budget of every student")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lr-heads", type=float, default=5e-4)
    p.add_argument("--recipe", default=SHIPPED_RECIPE,
                   help="the other `accvideo distill` flags every student gets (default: the shipped 5-step "
                        "student's less --exclude and the on-policy term)")
    p.add_argument("--prompts", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", default="runs/m_sweep")
    p.add_argument("--results", default=str(RESULTS),
                   help="markdown file whose fewer-steps section this writes (replaced; other sections kept)")
    p.add_argument("--svg", help="also plot T2V teacher PSNR against NFE into this SVG (beside --results)")
    p.add_argument("--lora-rank", type=int, default=0,
                   help="also distil a rank-R LoRA student at the first m (0: none)")
    args = p.parse_args(argv)
    ms = [int(m) for m in args.student_steps.split(",")]
    if any(m < 1 or m > args.teacher_steps for m in ms):
        p.error(f"every m must be from 1 to --teacher-steps ({args.teacher_steps}), got {args.student_steps}")
    return args, ms


def main() -> None:
    args, ms = parse_args()
    torch.set_num_threads(args.threads)
    finals, lora = train_students(args, ms)
    specs = sweep_specs(args.teacher, finals, args.teacher_steps, lora)
    results = run_eval(list(specs.values()), args.prompts, 64, Path(args.work) / "eval", args.threads)
    command = " ".join(["python", "bench/m_sweep.py", *sys.argv[1:]])
    when = f"{datetime.date.today()}, {platform.machine()} CPU, torch {torch.__version__}"
    lines = [f"{FEWER_STEPS}: students with m steps against the teacher at m steps", "",
             f"Regenerated by `{command}` ({when}). Every student: {args.iters} iterations x m key intervals, "
             f"one process, lr {args.lr}, head lr {args.lr_heads}, `{args.recipe}`, from `{args.synvid}`; "
             f"{args.prompts} eval prompts, the same noise for every model; teacher fidelity is against "
             f"teacher@{args.teacher_steps} from the same noise. The key timesteps of m are the teacher's grid points "
             f"at j n / m steps, rounded half up where m does not divide n.", ""]
    if args.svg:
        Path(args.svg).write_text(quality_svg(results, specs, ms, "t2v", "teacher_psnr_db", "T2V PSNR to teacher@50",
                                              (10.0, 40.0), percent=False))
        lines += [f"![T2V PSNR to teacher@{args.teacher_steps} against NFE]({Path(args.svg).name})", ""]
    for task in ("t2v", "i2v"):
        lines += [f"### {task.upper()}", "", metrics_table(results, list(specs.items()), task), ""]
    lines += ["### Does student@m beat teacher@m?", ""]
    for m in ms:
        lines += [verdict(results, specs[f"student@{m}"], specs[f"teacher@{m}"], f"m = {m}",
                          (f"student@{m}", f"teacher@{m}")), ""]
    if lora is not None:
        m, label = lora[0], f"LoRA student@{lora[0]}"
        lines += [f"### The rank-{args.lora_rank} LoRA student against the full student", "",
                  "Same SynVid, budget and eval prompts; \"holds\" means the LoRA student is the better one.", "",
                  verdict(results, specs[label], specs[f"student@{m}"], f"LoRA rank {args.lora_rank} beats the full "
                          f"student, m = {m}", (label, f"student@{m}")), ""]
    out = Path(args.results)
    out.write_text(with_section(out.read_text() if out.is_file() else "", "\n".join(lines)))
    print(f"wrote its section of {args.results}")


if __name__ == "__main__":
    main()
