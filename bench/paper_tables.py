"""Regenerate docs/results.md: the paper's Tables 1-4 and Fig. 2e/2f re-measured in the Shapes world.

    python bench/paper_tables.py --synvid runs/synvid --real-data runs/teacher_data.safetensors --iters 60 \\
        --prompts 50 --work runs/paper
    python bench/paper_tables.py --main-only --prompts 50 --work runs/paper_main   # Tables 1 and 2 only

1. Ablation students (Tables 3 and 4) are distilled with `accvideo distill`, all at the same budget
   (--iters outer iterations and the shipped student's other flags, --recipe), from the same SynVid folder
   (recorded with `--keep all`, so that the uniform schedule can be cut from it). A finished run is reused; an
   interrupted one resumes.
2. One `accvideo eval` run scores teacher@50, teacher@5, the shipped student@5 and every ablation student
   @5 on the same eval prompts and noise (T2V and I2V); a second one at 128x128 gives the resolution
   extrapolation row; Table 2 times teacher and student side by side in one process.
3. The 1D toy gives Fig. 2e (useless fraction against M) and Fig. 2f (students' distance to the data).
With --main-only (a new teacher or student, before its ablations are re-run), only Tables 1 and 2 are measured
and the file's sections from Table 3 on are kept, under a line that says which run measured them.
Each paper ordering is decided per metric by a 95 % paired bootstrap interval over the eval prompts
(accvideo.evaluation.bootstrap): holds, does not hold or undecided, never a count of metrics won; the numbers
are the ones printed.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import sys
from pathlib import Path

import torch

from bench.distill_runs import SHIPPED_RECIPE, run_eval, train_variant
from bench.results_file import RESULTS, other_scripts_sections, section_end
from bench.verdicts import metrics_table, verdict

ABLATIONS = "## Table 3: ablations"  # where the ablation sections start (kept as they are by --main-only)

# Table 3 and 4 variants: name -> (description, `accvideo distill` flags)
VARIANTS = {
    "full": ("full: trajectory + adversarial, timestep-aware heads, SynVid", []),
    "traj": ("trajectory loss only (--no-adv)", ["--no-adv"]),
    "single-head": ("one projection head for all timesteps (--single-head)", ["--single-head"]),
    "real-data": ("real data + forward diffusion (--data-kind real)", ["--data-kind", "real"]),
    "uniform": ("uniform key timesteps (--schedule uniform)", ["--schedule", "uniform"]),
}


def budget_note(results: dict, finals: dict[str, Path]) -> str:
    """Where the ablation students stand against teacher@5 and the shipped student (T2V teacher fidelity)."""
    def psnr(spec: str) -> float:
        return results[spec]["t2v"]["teacher_psnr_db"]

    students = {name: psnr(f"{final}@5") for name, final in finals.items()}
    below = [name for name, value in students.items() if value < psnr("teacher@5")]
    listed = ", ".join(f"{name} {value:.2f} dB" for name, value in students.items())
    shipped = psnr("student@5")
    head = (f"Budget check (T2V PSNR against teacher@50): ablation students {listed}; teacher@5 "
            f"{psnr('teacher@5'):.2f} dB; the shipped student {shipped:.2f} dB.")
    if not below:
        return f"{head} All ablation students are above teacher@5."
    if shipped < psnr("teacher@5"):
        return (f"{head} {len(below)} of {len(students)} ablation students sit below the plain 5-step teacher on this "
                "metric, and so does the shipped student: a student without CFG stays further from teacher@50's "
                "clips than teacher@5 with CFG does, so this column compares the students with each other only.")
    return (f"{head} {len(below)} of {len(students)} ablation students sit below the plain 5-step teacher, and the "
            "shipped student above it, so at this budget their differences say more about how far each got in its "
            "first iterations than about the method.")


def discriminator_section(finals: dict[str, Path]) -> str:
    """Did the heads H_k learn? Discriminator loss and logit gap, first and last quarter of each run's log."""
    lines = ["## Did the discriminator learn? (from each run's losses-rank0.csv)", "",
             "Eq. 7's discriminator loss is ln 2 = 0.693 while a head cannot tell SynVid latents from the student's; "
             "it falls, and the logit gap (real - fake) opens, once the head finds a difference.", "",
             "| student | disc. loss, first quarter | disc. loss, last quarter | logit gap, last quarter |",
             "|---|---|---|---|"]
    for name, final in finals.items():
        rows = list(csv.DictReader((final.parent / "losses-rank0.csv").read_text().splitlines()))
        if not rows or float(rows[-1]["disc"]) == 0.0:  # trajectory loss only: no discriminator
            lines.append(f"| {name} | – | – | – |")
            continue
        q = max(len(rows) // 4, 1)

        def mean(key: str, part: list[dict]) -> float:
            return sum(float(r[key]) for r in part) / len(part)

        gap = mean("logit_real", rows[-q:]) - mean("logit_fake", rows[-q:])
        lines.append(f"| {name} | {mean('disc', rows[:q]):.4f} | {mean('disc', rows[-q:]):.4f} | {gap:.4f} |")
    return "\n".join(lines)


def curve_section(finals: dict[str, Path], svg: Path) -> str:
    """The learning curves of the full method and of trajectory-only (bench/distill_curve.py's curve.csv in each run
    folder, when both runs were trained through it): a table and a plot written to `svg`; empty when one is missing."""
    from bench.distill_curve import curve_svg, done_rows

    runs = [finals[name].parent for name in ("full", "traj")]
    curves = [{int(r["iteration"]): r for r in done_rows(run / "curve.csv")} for run in runs]
    if not all(curves):
        return ""
    svg.write_text(curve_svg(runs))
    its = sorted(set(curves[0]) & set(curves[1]))
    lines = ["## Learning curves: full method against trajectory loss only", "",
             f"![all three right against iteration]({svg.name})", "",
             "`bench/distill_curve.py`: after every stretch the student of the run's latest checkpoint, judged on the "
             "first 100 canonical eval prompts (5 steps; T2V, and I2V from the rendered first frame). The two runs "
             "share every flag but `--no-adv`, their seed and their batches.", "",
             "| iteration | " + " | ".join(str(i) for i in its) + " |", "|---" * (len(its) + 1) + "|"]
    for (name, run), curve in zip(zip(("full", "traj"), runs), curves):
        for key, label in (("t2v_all_three", "T2V all three"), ("i2v_all_three", "I2V all three")):
            lines.append(f"| {name}, {label} | " + " | ".join(f"{float(curve[i][key]):.0%}" for i in its) + " |")
    return "\n".join(lines)


def toy_section(fast: bool) -> str:
    """Fig. 2e and 2f from the 1D toy."""
    from accvideo import toy1d

    config = toy1d.PRESETS["fast" if fast else "paper"]
    teacher = toy1d.default_teacher("fast" if fast else "paper")
    mismatches = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    fractions = {m: toy1d.useless_fraction(m, n=20_000 if fast else 100_000, teacher=teacher) for m in mismatches}
    students = toy1d.distil_students(teacher, [0.0, 2.0, 4.0], config, progress=False)
    errors = toy1d.distillation_errors(students, teacher, config, 20_000, seed=1)
    lines = ["## Fig. 2e/2f: the 1D toy (accvideo.toy1d)", "",
             f"Preset `{'fast' if fast else 'paper'}`. Fig. 2e: frequency of useless points by mismatch degree M.", "",
             "| M | " + " | ".join(f"{m:g}" for m in mismatches) + " |", "|---" * (len(mismatches) + 1) + "|",
             "| useless | " + " | ".join(f"{fractions[m]:.3f}" for m in mismatches) + " |", "",
             "Fig. 2f: 5-step students distilled from forward-diffused pairs (M) against AccVideo (teacher trajectories).", "",
             "| student | mean distance to {-3, 3} | within 0.5 of data | mean abs(student - teacher) |", "|---|---|---|---|"]
    for name, e in errors.items():
        lines.append(f"| {name} | {e['mean distance to data']:.3f} | {e['within 0.5 of data']:.3f} | "
                     f"{e['mean |student - teacher|']:.3f} |")
    rises = all(fractions[a] <= fractions[b] + 1e-3 for a, b in zip(mismatches, mismatches[1:]))
    best = min(errors, key=lambda k: errors[k]["mean |student - teacher|"])
    lines += ["", f"- **Useless points grow with M (Fig. 2e)**: {'holds' if rises else 'does not hold'} here.",
              f"- **The AccVideo student stays closest to the teacher (Fig. 2f)**: "
              f"{'holds' if best == 'AccVideo' else f'does not hold (closest: {best})'} here."]
    return "\n".join(lines)


def speed_section(threads: int, clips: int) -> str:
    """Table 2: teacher@50 / teacher@5 / student@5 side by side in one process."""
    from accvideo.evaluation.runner import load_generators
    from accvideo.evaluation.specs import parse_specs
    from accvideo.evaluation.speed import PARTS, speed_table
    from accvideo.quality import eval_prompts

    torch.set_num_threads(threads)
    specs = parse_specs("teacher@50,teacher@5,student@5")
    rows = speed_table(specs, load_generators(specs), eval_prompts(clips))
    lines = [f"## Table 2: seconds per clip (CPU, {threads} threads, {clips} clips, one process, after a warm-up)", "",
             "| model | NFE | " + " | ".join(f"{p} s" for p in PARTS) + " | " + " | ".join(f"{p} speed-up" for p in PARTS)
             + " |", "|---" * (2 + 2 * len(PARTS)) + "|"]
    for r in rows:
        lines.append(f"| {r.spec} | {r.nfe} | " + " | ".join(f"{r.seconds[p]:.3f}" for p in PARTS) + " | "
                     + " | ".join(f"{r.speedup[p]:.1f}x" for p in PARTS) + " |")
    student = rows[-1]
    lines += ["", f"- **Student denoising >= 15x faster than teacher@50 with CFG** (the distillation issue's bar): "
                  f"{student.speedup['denoise']:.1f}x, {'holds' if student.speedup['denoise'] >= 15 else 'does not hold'}.",
              f"- End to end: {student.speedup['total']:.1f}x (the paper's best T2V figure is 8.5x on HunyuanVideo "
              f"and its goal here 9.6x; decoding and text encoding do not shrink with the step count)."]
    return "\n".join(lines)


KEPT = "The sections from Table 3 on are kept from an earlier run"  # --main-only's provenance line
SPEED = "## Table 2:"  # the speed section's header (kept as it is with --keep-speed)
KEPT_SPEED_PREFIX = "Kept from the file's previous run (`--keep-speed`"
KEPT_SPEED = (f"{KEPT_SPEED_PREFIX}: the same architectures, step counts and CFG, so the same work per clip whatever "
              "the weights; timed on an idle machine, not timed again).")


def kept_speed(old: str) -> str:
    """--keep-speed: the old file's Table 2 section, up to the next section, under a line saying it was kept
    (without the provenance line a --main-only run put before Table 3: a full run re-measures those sections)."""
    start = old.index(SPEED)
    end = old.find("\n## ", start + len(SPEED))
    header, _, body = old[start:end if end >= 0 else len(old)].rstrip().partition("\n")
    lines = [line for line in body.splitlines() if not line.startswith(KEPT)]  # not --main-only's line
    if any(line.startswith(KEPT_SPEED_PREFIX) for line in lines):  # kept before: one line says so, in today's words
        lines = [KEPT_SPEED if line.startswith(KEPT_SPEED_PREFIX) else line for line in lines]
        return "\n".join([header, *lines]).rstrip()
    return "\n".join([header, "", KEPT_SPEED, "\n".join(lines).rstrip()])


def kept_ablations(old: str) -> list[str]:
    """--main-only: the old file's sections from Table 3 on, under a line naming the run that measured them (the
    old file's own provenance line when it was itself a --main-only run, else its "Regenerated by" line)."""
    lines = old.splitlines()
    provenance = next((line for line in lines if line.startswith(KEPT)), None) or (
        f"{KEPT} (`--main-only` does not re-run them; they were measured on the teacher and SynVid of that time): "
        + (lines[2] if len(lines) > 2 else "an earlier run"))
    kept = old[old.index(ABLATIONS):section_end(old, ABLATIONS)].rstrip()
    return [provenance, "", kept, ""]


ORDERINGS = {  # variant -> the paper's claim that the full method beats it
    "traj": "Adding the adversarial loss helps (Table 3)",
    "real-data": "SynVid beats real data + forward diffusion",
    "single-head": "Timestep-aware heads beat a single head",
    "uniform": "The AccVideo key timesteps beat a uniform grid",
}


def ordering(results: dict, finals: dict[str, Path], name: str) -> str:
    """The verdict on the paper's claim against variant `name`, or a line saying it was not measured this run."""
    if name not in finals:
        return (f"- **{ORDERINGS[name]}**: not measured in this run (its student was not trained: "
                f"`--variants` left out {name}).")
    return verdict(results, f"{finals['full']}@5", f"{finals[name]}@5", ORDERINGS[name], ("full@5", f"{name}@5"))


def ablation_sections(results: dict, finals: dict[str, Path], args: argparse.Namespace) -> list[str]:
    """Tables 3 and 4 and the discriminator check, from the ablation students' eval results."""
    sections = []
    ablation = [(VARIANTS[name][0], f"{final}@5") for name, final in finals.items()]
    sections += [f"{ABLATIONS} (each student: {args.iters} iterations x 5 key intervals, lr {args.lr}, "
                 f"head lr {args.lr_heads}, `{args.recipe}`, one CPU process)", ""]
    for task in ("t2v", "i2v"):
        sections += [f"{task.upper()}:", "", metrics_table(results, [r for r in ablation if "uniform" not in r[0]],
                                                           task), ""]
    sections += [budget_note(results, finals), ""]
    sections += [ordering(results, finals, name) for name in ("traj", "real-data", "single-head")]
    sections += ["", "## Table 4: key timesteps against a uniform grid (same budget)", ""]
    for task in ("t2v", "i2v"):
        sections += [f"{task.upper()}:", "", metrics_table(
            results, [r for r in ablation if r[0].startswith(("full", "uniform"))], task), ""]
    sections += [ordering(results, finals, "uniform"), ""]
    sections += [discriminator_section(finals), ""]
    curves = curve_section(finals, RESULTS.with_name("distill_curve.svg"))
    return sections + ([curves, ""] if curves else [])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synvid", help="SynVid folder recorded with --keep all from the shipped teacher")
    p.add_argument("--real-data", help="teacher-data file (rendered clips' latents) for the baseline")
    p.add_argument("--teacher", default="teacher")
    p.add_argument("--iters", type=int, default=60, help="distillation budget of every ablation student")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lr-heads", type=float, default=5e-4)
    p.add_argument("--recipe", default=SHIPPED_RECIPE,
                   help="further `accvideo distill` flags every ablation student gets (default: SHIPPED_RECIPE, the "
                        "shipped student's less --exclude and the on-policy term)")
    p.add_argument("--prompts", type=int, default=50)
    p.add_argument("--extrapolation-prompts", type=int, default=24)
    p.add_argument("--speed-clips", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--toy", choices=("fast", "paper", "skip"), default="fast")
    p.add_argument("--work", default="runs/paper")
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help="the ablation students to train and judge (full and any others; default: all)")
    p.add_argument("--keep-speed", action="store_true",
                   help="keep the file's Table 2 as it is (timed earlier with the same teacher and student, on an "
                        "idle machine) instead of timing again, e.g. while another run shares the CPU")
    p.add_argument("--main-only", action="store_true",
                   help="Tables 1 and 2 only (no ablation students); the file's sections from Table 3 on are kept, "
                        "under a line that says where they were measured")
    args = p.parse_args()
    work = Path(args.work)
    out = Path(args.out)
    old = out.read_text() if out.is_file() else ""
    if not args.main_only and not args.synvid:
        p.error("the ablation students need --synvid (or --main-only for Tables 1 and 2)")
    if args.keep_speed and SPEED not in old:
        p.error(f"--keep-speed keeps the Table 2 of {out}, which has none")
    if args.main_only and ABLATIONS not in old:
        p.error(f"--main-only keeps the ablation sections of {out}, which has none: run without it first")
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or "full" not in variants:
        p.error(f"--variants takes full and any of {', '.join(list(VARIANTS)[1:])}; got {args.variants}")
    if "real-data" in variants and not args.real_data and not args.main_only:
        p.error("the real-data variant needs --real-data (a teacher-data file)")
    finals = {} if args.main_only else {name: train_variant(name, VARIANTS[name][1], args) for name in variants}
    specs = {"teacher@50": "teacher@50", "teacher@5": "teacher@5", "student@5 (shipped)": "student@5",
             **{f"{name} @5": f"{final}@5" for name, final in finals.items()}}
    results = run_eval(list(specs.values()), args.prompts, 64, work / "eval64", args.threads)
    big = run_eval(["teacher@50", "student@5"], args.extrapolation_prompts, 128, work / "eval128", args.threads)

    command = " ".join(["python", "bench/paper_tables.py", *sys.argv[1:]])
    when = f"{datetime.date.today()}, {platform.machine()} CPU, torch {torch.__version__}"
    sections = [
        "# Measured results: the paper's tables in the Shapes world", "",
        f"Regenerated by `{command}` ({when}). Every number below is the one the script printed; "
        f"the raw figures are in `{work}/eval64/metrics.json` and `{work}/eval128/metrics.json`.", "",
        f"Eval prompts: {args.prompts} single-object eval-seed prompts, the same noise for every model "
        f"(T2V, and I2V from the rendered first frame). Teacher fidelity is against teacher@50 from the same noise.", "",
        "## Table 1: teacher 50 / teacher 5 / student 5", ""]
    main_rows = [(label, specs[label]) for label in ("teacher@50", "teacher@5", "student@5 (shipped)")]
    for task, title in (("t2v", "Text to video"), ("i2v", "Image to video")):
        sections += [f"### {title}", "", metrics_table(results, main_rows, task), ""]
    sections += [f"Resolution extrapolation (the paper's 544P -> 720P): distilled at 64x64, run at 128x128 "
                 f"({args.extrapolation_prompts} prompts).", ""]
    for task in ("t2v", "i2v"):
        sections += [f"{task.upper()}:", "", metrics_table(big, [("teacher@50, 128x128", "teacher@50"),
                                                              ("student@5, 128x128", "student@5")], task), ""]
    sections += [verdict(results, "student@5", "teacher@5", "The student beats the plain teacher at 5 steps"),
                 verdict(big, "student@5", "teacher@50",
                         "At 128x128 the student keeps up with the teacher (paper: it even beats it)"), ""]
    sections += [kept_speed(old) if args.keep_speed else speed_section(args.threads, args.speed_clips), ""]
    if args.main_only:
        sections += kept_ablations(old)
    else:
        sections += ablation_sections(results, finals, args)
    if args.toy != "skip" and not args.main_only:
        sections += [toy_section(args.toy == "fast"), ""]
    text = "\n".join(sections) + "\n" + other_scripts_sections(old)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
