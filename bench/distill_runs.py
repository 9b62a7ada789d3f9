"""Students for the bench reports: `accvideo distill` at one budget (a finished run reused, an interrupted one
resumed), and `accvideo eval` on them (its metrics.json read back when it exists)."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

# The shipped student's recipe less its --exclude and on-policy term (the recipe of the 2026-12-02 student): every
# ablation student gets it, with its own --iters/--lr/--lr-heads after it, so that "full" is that recipe and each
# variant differs from it in one thing (the on-policy term needs the queues --no-adv drops)
SHIPPED_RECIPE = "--recipe shipped --onpolicy 0"
def train_variant(name: str, flags: list[str], args: argparse.Namespace) -> Path:
    """Distil one ablation student (or reuse a finished run); returns its exported folder."""
    out = Path(args.work) / name
    final = out / "final"
    if (final / "accvideo.json").is_file():
        return final
    data = args.real_data if name == "real-data" else args.synvid
    cmd = [sys.executable, "-m", "accvideo", "distill", *shlex.split(args.recipe), "--data", data, "--teacher",
           args.teacher, "--out", str(out), "--iters", str(args.iters), "--lr", str(args.lr), "--lr-heads",
           str(args.lr_heads), "--threads", str(args.threads), *flags]
    if (out / "checkpoint-rank0.json").is_file():
        cmd.append("--resume")
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return final


def run_eval(models: list[str], prompts: int, size: int, out: Path, threads: int, task: str = "both",
             seed: int = 0) -> dict:
    """`accvideo eval` on the task(s), from eval seed offset `seed`; returns metrics.json's results."""
    cmd = [sys.executable, "-m", "accvideo", "eval", "--models", ",".join(models), "--prompts", str(prompts),
           "--task", task, "--seed", str(seed), "--size", str(size), "--out", str(out), "--threads", str(threads)]
    if not (out / "metrics.json").is_file():
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    return json.loads((out / "metrics.json").read_text())["results"]
