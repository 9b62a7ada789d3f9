"""Seconds per clip of `generate`, split into text / denoise / decode, for models side by side in one run.

    python bench/generate_speed.py --models teacher@50,teacher@5,student@5 --clips 4 --json runs/generate_speed.json

Ratios are against the first spec (the teacher at 50 steps with CFG). Goals: denoising
teacher@50 / student@5 >= 15x, teacher@50 / student-m1@1 >= 80x.
"""

from __future__ import annotations

import argparse
import json

import torch

from accvideo.evaluation.runner import load_generators
from accvideo.evaluation.specs import parse_specs
from accvideo.evaluation.speed import speed_table
from accvideo.quality import eval_prompts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="teacher@50,teacher@5", help="comma-separated NAME_OR_PATH@steps")
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    specs = parse_specs(args.models)
    rows = speed_table(specs, load_generators(specs), eval_prompts(args.clips))
    results = {}
    for row in rows:
        results[row.spec] = {"nfe": row.nfe, **{f"seconds_{k}": v for k, v in row.seconds.items()},
                             **{f"speedup_{k}": v for k, v in row.speedup.items()}}
        print(row.spec, json.dumps(results[row.spec]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, **results}, f, indent=2)


if __name__ == "__main__":
    main()
