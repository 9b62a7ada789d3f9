"""`accvideo eval`: score model specs (teacher@50, student@5, PATH@STEPS) on eval-seed prompts.

Writes OUT/metrics.json, OUT/metrics.md and OUT/report.html. Bad specs end with a one-line error
and exit code 2 before any model loads.
"""

from __future__ import annotations

import argparse

from accvideo import validation
from accvideo.commands.common import BadInput, flag

OBJECTS = {"1": 1, "2": 2, "mixed": None}  # --objects -> eval_prompts' n_objects (mixed: the world's 70 % / 30 %)
TASK_CHOICES = {"t2v": ("t2v",), "i2v": ("i2v",), "both": ("t2v", "i2v")}


def run(args: argparse.Namespace) -> int:
    """Parse and check everything, load each model folder once, generate, score and write the report."""
    from pathlib import Path

    import torch

    from accvideo.evaluation.report import write_report
    from accvideo.evaluation.runner import evaluate, load_generators
    from accvideo.evaluation.specs import SpecError, parse_specs, pick_reference
    from accvideo.quality import eval_prompts, fidelity_ceiling
    from accvideo.shapes.spec import EVAL_SEEDS

    validation.whole("--prompts", args.prompts, 1, len(EVAL_SEEDS))
    if args.seed < 0 or args.seed + args.prompts > len(EVAL_SEEDS):
        raise BadInput(f"--seed must be from 0 to {len(EVAL_SEEDS) - args.prompts} (an offset into the eval seeds)")
    validation.output_folder(args.out, "--out")
    if args.size % 16 or not 32 <= args.size <= 256:
        raise BadInput(f"--size must be a multiple of 16 from 32 to 256, got {args.size}")
    validation.shared_fields({"batch_size": args.batch_size, "threads": args.threads}, flag)
    try:
        specs = parse_specs(args.models)
        reference = pick_reference(specs, args.reference)
    except SpecError as err:
        raise BadInput(str(err)) from err
    for spec in specs:
        validation.steps(f"the steps of {spec.text!r}", spec.steps)
    torch.set_num_threads(args.threads)
    prompts = eval_prompts(args.prompts, offset=args.seed, n_objects=OBJECTS[args.objects], size=args.size)
    generators = load_generators(specs, device=args.device)
    tasks = TASK_CHOICES[args.task]
    results = evaluate(specs, generators, prompts, tasks, reference, batch_size=args.batch_size)
    first = reference or specs[0]
    ceiling = fidelity_ceiling(generators[first.folder.resolve()].backbone, prompts, args.batch_size)
    config = {
        "models": {s.text: {"folder": str(s.folder), "kind": s.kind, "steps": s.steps} for s in specs},
        "reference": reference.text if reference else None,
        "prompts": args.prompts, "seed": args.seed, "size": args.size, "objects": args.objects, "tasks": list(tasks),
        "eval_seeds": [prompts[0].seed, prompts[-1].seed], "device": args.device,
        "shape_fidelity_ceiling": {"value": ceiling, "vae_of": first.text},
    }
    for path in write_report(results, config, Path(args.out)):
        print(f"wrote {path}")
    return 0


def add_parser(sub) -> None:
    """Register `eval`."""
    p = sub.add_parser("eval", help="score models on eval-seed prompts (attributes, Fréchet distance, flicker, ...)")
    p.add_argument("--models", required=True,
                   help="comma-separated MODEL@STEPS, MODEL = teacher, student or a model folder "
                        "(e.g. teacher@50,teacher@5,student@5)")
    p.add_argument("--prompts", type=int, default=100, help="number of eval prompts")
    p.add_argument("--seed", type=int, default=0, help="offset into the eval seeds (prompt i uses eval seed SEED + i)")
    p.add_argument("--task", choices=tuple(TASK_CHOICES), default="both")
    p.add_argument("--out", required=True, help="folder for metrics.json, metrics.md, report.html")
    p.add_argument("--reference", help="spec for teacher fidelity (default: the first teacher at its full steps)")
    p.add_argument("--objects", choices=tuple(OBJECTS), default="1", help="objects per prompt (mixed: 70 %% / 30 %%)")
    p.add_argument("--size", type=int, default=64,
                   help="clip height and width in pixels (the miniature is trained at 64; 128 tests extrapolation)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.set_defaults(func=run)
