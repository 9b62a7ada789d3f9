"""Teacher quality bar on 200 eval-seed single-object prompts, judged from pixels.

T2V bar: teacher at 50 steps gets colour, shape and motion all right >= 90 % on canonical captions; long
(fine-grained) captions are reported beside them (goal >= 80 %).
I2V bar: frame-0 PSNR >= 25 dB and motion right >= 90 %. Teacher at 5 plain steps is reported beside it.
Every run of one prompt uses the same seed (spec and noise) whatever the style, steps or task.

    python bench/teacher_quality.py --model teacher --steps 50,5 --n 200 --json runs/teacher_quality.json

Guidance is chosen on other seeds (--offset 200), never on the bar's own prompts:

    python bench/teacher_quality.py --model teacher --steps 50 --tasks t2v --styles canonical --offset 200 --guidance 6

Keys of the figures: "{task}-{style}@{steps}", e.g. "t2v-canonical@50"; --styles mix gives the world's own
caption mix (the keys of the shipped v1 card, "t2v@50", were measured on it). Each key also counts the shapes the
judge misread ("shape_misread": {"circle as square": 9, ...}).
"""

from __future__ import annotations

import argparse
import json

import torch

from accvideo.pipeline import VideoGenerator
from accvideo.quality import eval_prompts, fidelity_ceiling, measure
from accvideo.schedules import STUDENT_STEPS, TEACHER_STEPS

STYLES = {"canonical": "canonical", "fine": "fine", "mix": None}  # --styles name -> eval_prompts(style=)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="teacher")
    p.add_argument("--steps", default=f"{TEACHER_STEPS},{STUDENT_STEPS}", help="comma-separated step counts")
    p.add_argument("--tasks", default="t2v,i2v")
    p.add_argument("--styles", default="canonical,fine", help=f"comma-separated caption styles: {', '.join(STYLES)}")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--offset", type=int, default=0,
                   help="skip this many eval seeds: choose guidance on prompts outside the bar's first --n")
    p.add_argument("--guidance", type=float)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    styles = args.styles.split(",")
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        p.error(f"unknown caption style {unknown[0]!r}; choose from {', '.join(STYLES)}")
    torch.set_num_threads(args.threads)
    gen = VideoGenerator.from_folder(args.model)
    results = {}
    for style in styles:
        prompts = eval_prompts(args.n, offset=args.offset, style=STYLES[style])
        if "shape_fidelity_ceiling" not in results:  # the captions' style does not change the rendered clips
            results["shape_fidelity_ceiling"] = fidelity_ceiling(gen.backbone, prompts, args.batch_size)
        for task in args.tasks.split(","):
            for steps in (int(s) for s in args.steps.split(",")):
                key = f"{task}-{style}@{steps}"
                results[key] = measure(gen, prompts, steps, task, args.guidance, args.batch_size, desc=key)
                print(key, json.dumps(results[key]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            guidance = args.guidance or gen.settings.guidance
            json.dump({"model": args.model, "offset": args.offset, "guidance": guidance, **results}, f, indent=2)


if __name__ == "__main__":
    main()
