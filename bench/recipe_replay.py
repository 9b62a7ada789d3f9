"""Does a named recipe still train a shipped student? Replays its first logged losses and compares them exactly.

The student's card folder holds its config (training.json) and its loss log (losses.csv). The replay is
`accvideo distill --recipe NAME` plus the flags in which the student's config differs from the recipe, run for
just enough iterations to log --rows rows, on the same SynVid and --exclude file; every logged value must equal
the shipped run's (the CSV keeps 6 significant digits).

    python bench/recipe_replay.py --student student-m2 --data runs/synvid --exclude runs/misdrawn.txt --threads 1

Needs the student's SynVid (512 samples for the shipped students: `accvideo synvid generate --teacher teacher
--shapes 512 --i2v-fraction 0.5 --keep all --out runs/synvid`, 12 minutes on one core), so it is a bench check,
not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PATHS = ("data", "exclude", "out", "teacher", "real_videos", "init")  # given on the command line, not read from the card
BOOKKEEPING = ("threads", "iters", "checkpoint_every")  # do not change what is logged


def recipe_flags(config: dict, recipe: str) -> list[str]:
    """`--recipe NAME` and the flags that turn its config into `config` (a student's training.json config)."""
    from accvideo.commands.common import flag
    from accvideo.distill.config import RECIPES, DistillConfig

    default = DistillConfig(data=None)
    defaults = {f: getattr(default, f) for f in DistillConfig.__dataclass_fields__}
    base = {**defaults, **RECIPES[recipe]}
    # a field the student's config lacks came with a later version: the student trained without it (its default)
    target = {name: config.get(name, value) for name, value in defaults.items()}
    flags = ["--recipe", recipe]
    for name, value in target.items():
        if name in PATHS + BOOKKEEPING or name == "mode":
            continue
        value = list(value) if isinstance(value, tuple) else value
        mine = list(base[name]) if isinstance(base[name], tuple) else base[name]
        if value == mine or (name == "onpolicy_keys" and not target["onpolicy"]):  # keys unused with the term off
            continue
        if isinstance(value, bool):  # a store_true flag (no recipe sets one)
            flags += [flag(name)] if value else []
        elif isinstance(value, list):
            flags += [flag(name), *map(str, value)]
        else:
            flags += [flag(name), str(value)]
    mode = config.get("mode", "full")
    return flags + (["--no-adv"] if mode == "traj" else ["--adv-only"] if mode == "adv" else [])


def logged_rows(path: Path, rows: int) -> list[dict]:
    """The first `rows` rows of a loss log."""
    with path.open() as f:
        return list(csv.DictReader(f))[:rows]


def differences(shipped: list[dict], replayed: list[dict]) -> list[str]:
    """One line per value that differs (the columns both logs have), empty when they agree exactly."""
    out = [f"{len(replayed)} rows replayed, {len(shipped)} shipped"] if len(shipped) != len(replayed) else []
    for a, b in zip(shipped, replayed):
        out += [f"step {a['step']} {key}: shipped {a[key]}, replayed {b[key]}"
                for key in a if key in b and a[key] != b[key]]
    return out


def replay(student: str, recipe: str, data: str, exclude: str | None, teacher: str, rows: int, threads: int,
           work: Path, init: str | None = None) -> list[str]:
    """Train the replay into `work` and compare; returns the differences (none: the recipe reproduces it)."""
    config = json.loads((ASSETS / student / "training.json").read_text())["config"]
    m = config["student_steps"] or 5
    cmd = [sys.executable, "-m", "accvideo", "distill", *recipe_flags(config, recipe), "--data", data,
           "--teacher", teacher, "--out", str(work), "--iters", str(math.ceil(rows / m)), "--threads", str(threads)]
    if exclude:
        cmd += ["--exclude", exclude]
    if init:  # a refined student: the one it started from; its SynVid may be another sampler's
        cmd += ["--init", init, "--any-teacher"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return differences(logged_rows(ASSETS / student / "losses.csv", rows), logged_rows(work / "losses-rank0.csv", rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--student", default="student-m2", help="a shipped student's folder in assets/")
    p.add_argument("--recipe", default="shipped")
    p.add_argument("--data", required=True, help="the student's SynVid")
    p.add_argument("--exclude", help="the --exclude file the student was trained with")
    p.add_argument("--teacher", default="teacher")
    p.add_argument("--init", help="the student a refined student started from (its card names it)")
    p.add_argument("--rows", type=int, default=20, help="logged rows (inner steps) to compare")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="replay-") as work:
        diffs = replay(args.student, args.recipe, args.data, args.exclude, args.teacher, args.rows, args.threads,
                       Path(work) / "run", args.init)
    for line in diffs:
        print(line)
    print(f"{args.student}: the first {args.rows} logged rows {'differ' if diffs else 'are equal'} under "
          f"--recipe {args.recipe}")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
