"""`accvideo synvid generate | info | verify | misdrawn`: record the teacher's trajectories (Sec. 4.1), inspect them
and list the samples the judge reads wrong (for `accvideo distill --exclude`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accvideo import validation
from accvideo.commands.common import BadInput, add_memory_options, flag, load_options, open_model
from accvideo.schedules import STUDENT_STEPS, TEACHER_STEPS


def check_generate(args: argparse.Namespace) -> None:
    """The flags of `synvid generate` that need no model: numbers, the prompts file, the output folder."""
    validation.whole("--threads", args.threads, low=1)
    validation.seed("--seed", args.seed)
    validation.steps("--teacher-steps", args.teacher_steps)
    validation.whole("--student-steps", args.student_steps, 1, args.teacher_steps)
    if args.guidance is not None:
        validation.guidance("--guidance", args.guidance)
    validation.number("--i2v-fraction", args.i2v_fraction, 0.0, 1.0)
    for name in ("shard_size", "batch_size"):
        validation.whole(flag(name), getattr(args, name), low=1)
    if args.shapes is not None:
        validation.whole("--shapes", args.shapes, low=1)
    else:
        validation.input_file(args.prompts, "--prompts")
    validation.output_folder(args.out, "--out")


def run_generate(args: argparse.Namespace) -> int:
    """Record teacher trajectories into a SynVid folder."""
    check_generate(args)
    import torch

    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.run import SynVidSettings, generate_synvid
    from accvideo.synvid.sources import file_requests, shapes_requests
    from accvideo.synvid.store import file_sha256

    torch.set_num_threads(args.threads)
    teacher = open_model(args.teacher)
    height, width, frames = teacher.settings.clip_size(args.height, args.width, args.frames)
    try:
        teacher.check_geometry(height, width, frames)
        if args.shapes is not None:
            requests = shapes_requests(args.shapes, args.seed, args.i2v_fraction, height, width, frames)
            source = f"shapes:{args.shapes}:i2v={args.i2v_fraction}"
        else:
            requests = file_requests(args.prompts, args.seed, height, width)
            source = f"file:{file_sha256(Path(args.prompts))}"
        teacher.check_tasks([r.image is not None for r in requests])
        settings = SynVidSettings.from_teacher(
            teacher, source, len(requests), args.seed, teacher_steps=args.teacher_steps,
            student_steps=args.student_steps, guidance=args.guidance, keep=args.keep, height=height, width=width,
            frames=frames, shard_size=args.shard_size, batch_size=args.batch_size)
    except (FileNotFoundError, ValueError, OSError, KeyError, json.JSONDecodeError) as err:
        raise BadInput(str(err)) from err
    device = args.device
    if device == "cuda":  # under accelerate: this rank's GPU
        from accelerate import PartialState

        device = str(PartialState().device)
    generator = VideoGenerator.from_folder(teacher, device=device, options=load_options(args))
    print(generate_synvid(generator, requests, settings, args.out, resume=args.resume))
    return 0


def kept_generate(args: argparse.Namespace) -> str:
    """What an interrupted `synvid generate` kept in --out: whole shards and batches, which --resume reuses."""
    out = Path(args.out)
    shards = len(list(out.glob("shards/shard-*.safetensors")))
    batches = len(list(out.glob("pending/chunk-*.safetensors")))
    if not shards and not batches:
        return f"no batch was finished; {out} holds no samples yet"
    return (f"kept {shards} finished shard(s) and {batches} finished batch(es) in {out}; the same command with "
            "--resume continues from them")


def run_info(args: argparse.Namespace) -> int:
    """Print a SynVid folder's summary (and the Fig. 5 histogram as text)."""
    from accvideo.synvid.dataset import SynVidError, dataset_info

    try:
        info = dataset_info(Path(args.dir))
    except (SynVidError, FileNotFoundError) as err:
        raise BadInput(str(err)) from err
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"{args.dir}: {info['samples']} samples in {info['shards']} shards, tasks {info['tasks']}, "
          f"{info['bytes'] / 1e6:.1f} MB ({info['bytes_per_sample'] / 1e3:.1f} kB per sample)")
    print(f"teacher {info['teacher']} at {info['teacher_steps']} steps; key sigmas "
          + ", ".join(f"{s:.5f}" for s in info["key_sigmas"]))
    print(f"prompt length in words (mean {info['prompt_words_mean']:.1f}):")
    top = max(info["prompt_words_histogram"].values())
    for label, count in info["prompt_words_histogram"].items():
        print(f"  {label:>5} {'#' * max(1, round(40 * count / top))} {count}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Full check of a SynVid folder; exit 0 only when it holds."""
    import sys

    from accvideo.synvid.dataset import SynVidDataset, SynVidError

    try:
        ds = SynVidDataset(args.dir, verify=True)
    except SynVidError as err:
        print(f"accvideo: verify failed: {err}", file=sys.stderr)
        return 1
    print(f"{args.dir}: {len(ds)} samples verified (shapes, dtypes, finite values, checksums)")
    return 0


def run_misdrawn(args: argparse.Namespace) -> int:
    """Write the ids of a Shapes SynVid's samples whose recorded clip the judge reads wrong."""
    out = Path(args.out)
    if out.exists():
        raise BadInput(f"{out} exists; choose another --out")
    validation.whole("--threads", args.threads, low=1)
    import torch

    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.synvid.misdrawn import ids_file, misdrawn

    torch.set_num_threads(args.threads)
    dataset = SynVidDataset(args.synvid, verify=False)
    gen = VideoGenerator.from_folder(dataset.settings.teacher)
    lines = ids_file(misdrawn(gen, dataset), dataset, args.synvid)
    out.write_text("\n".join(lines) + "\n")
    print(lines[0])
    return 0


def add_parser(sub) -> None:
    """Register `synvid` and its subcommands."""
    p = sub.add_parser("synvid", help="record teacher trajectories (SynVid, Sec. 4.1)")
    ss = p.add_subparsers(dest="synvid_command", required=True)
    g = ss.add_parser("generate", help="run the teacher and record its trajectories")
    g.add_argument("--teacher", default="teacher", help="teacher or a model folder")
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--shapes", type=int, help="draw N prompts from the Shapes world (training seeds)")
    src.add_argument("--prompts", help=".txt or .jsonl prompts file")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=0, help="base seed: sample i's noise depends on (seed, i)")
    g.add_argument("--teacher-steps", type=int, default=TEACHER_STEPS, help="n, the teacher's Euler steps")
    g.add_argument("--student-steps", type=int, default=STUDENT_STEPS, help="m, the key intervals kept")
    g.add_argument("--guidance", type=float, help="CFG scale (default: the teacher's)")
    g.add_argument("--keep", choices=("key", "all"), default="key", help="latents kept: the m + 1 key ones, or all")
    g.add_argument("--i2v-fraction", type=float, default=0.5)
    g.add_argument("--height", type=int, help="default: the teacher's")
    g.add_argument("--width", type=int, help="default: the teacher's")
    g.add_argument("--frames", type=int, help="default: the teacher's")
    g.add_argument("--shard-size", type=int, default=256)
    g.add_argument("--batch-size", type=int, default=16)
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--device", default="cpu")
    g.add_argument("--resume", action="store_true")
    add_memory_options(g)
    g.set_defaults(func=run_generate, kept=kept_generate)
    i = ss.add_parser("info", help="counts, tasks, size, prompt lengths")
    i.add_argument("dir")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=run_info, loads_models=False)  # no library output to quiet: none imported for it
    v = ss.add_parser("verify", help="check every shard and sample")
    v.add_argument("dir")
    v.set_defaults(func=run_verify, loads_models=False)
    w = ss.add_parser("misdrawn", help="list the samples whose recorded clip the judge reads wrong (--exclude)")
    w.add_argument("--synvid", required=True, help="a SynVid drawn with --shapes")
    w.add_argument("--out", required=True, help="the ids file to write (refused if it exists)")
    w.add_argument("--threads", type=int, default=1)
    w.set_defaults(func=run_misdrawn)
