"""`accvideo generate`: clips from a teacher, a student or a model folder (miniature, Wan2.1, HunyuanVideo)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from accvideo import validation
from accvideo.commands.common import (BadInput, Interrupted, add_memory_options, check_sampling, check_seed,
                                      check_writable, load_options, open_model)

PROMPT_SUFFIXES = (".txt", ".jsonl")


@dataclass
class Job:
    """One clip to generate."""

    prompt: str
    seed: int
    image: Path | None
    output: Path


def read_jobs(args: argparse.Namespace) -> list[Job]:
    """Turn --prompt / --prompts (.txt or .jsonl) into jobs, validating everything up front."""
    check_seed(args.seed, "--seed")
    image = Path(args.image) if args.image else None
    if args.prompts is None:
        if args.prompt is None or not args.prompt.strip():
            raise BadInput("empty prompt: give --prompt TEXT or --prompts FILE")
        return [Job(args.prompt, args.seed, image, Path(args.output))]
    path = Path(args.prompts)
    if path.suffix not in PROMPT_SUFFIXES:
        raise BadInput(f"prompts file {path} must be .txt (one prompt per line) or .jsonl, "
                       f"not {path.suffix or 'no suffix'}")
    try:
        lines = validation.input_file(path, "prompts file").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read prompts file {path}: {err.__class__.__name__}") from err
    out_dir = validation.output_folder(args.output_dir, "--output-dir")
    jobs: list[Job] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        seed = args.seed + len(jobs)
        if path.suffix == ".jsonl":
            record = validation.prompt_line(line, f"{path}:{lineno}")
            prompt, seed = record["prompt"], seed if record["seed"] is None else record["seed"]
            job_image = path.parent / record["image"] if record["image"] else image
        else:
            prompt, job_image = line.strip(), image
        check_seed(seed, f"{path}:{lineno}: seed")
        jobs.append(Job(prompt, seed, job_image, out_dir / f"{len(jobs):04d}.mp4"))
    if not jobs:
        raise BadInput(f"no prompts in {path}")
    return jobs


def check_jobs(jobs: list[Job], height: int, width: int, frames: int, check_geometry) -> dict[Path, object]:
    """Validate the clip size (with the model's check) and every image before loading any model; returns the
    decoded images (each read only once its header says it has the clip's size)."""
    from accvideo.video import read_image

    try:
        check_geometry(height, width, frames)
    except ValueError as err:
        raise BadInput(str(err)) from err
    images = {}
    for job in jobs:
        if job.image is None or job.image in images:
            continue
        validation.clip_image(job.image, height, width)
        try:
            images[job.image] = read_image(job.image)
        except ValueError as err:
            raise BadInput(str(err)) from err
    return images


def written(jobs: list[Job], done: int) -> str:
    """What an interrupted run kept: the clips finished before it."""
    if done == 0:
        return "no clip was finished; nothing was written"
    names = jobs[0].output if done == 1 else f"{jobs[0].output} to {jobs[done - 1].output}"
    return f"kept {done} finished clip{'s' if done > 1 else ''} ({names}); the clip in progress was not written"


def run(args: argparse.Namespace) -> int:
    """Check everything, load the model once, generate every job."""
    import numpy as np
    from tqdm.auto import tqdm

    from accvideo.pipeline import VideoGenerator
    from accvideo.video import write_mp4

    check_sampling(args.steps, args.guidance)
    model = open_model(pick_model(args.model, args.steps))
    height, width, frames = model.settings.clip_size(args.height, args.width, args.frames)
    validation.whole("--context-parallel", args.context_parallel, low=1)
    jobs = read_jobs(args)
    for job in jobs:
        check_writable(job.output)
    images = check_jobs(jobs, height, width, frames, model.check_geometry)
    try:
        model.check_tasks([job.image is not None for job in jobs])
    except ValueError as err:
        raise BadInput(str(err)) from err
    device, main_process = args.device, True
    if args.context_parallel > 1:  # one clip over several GPUs: every rank runs it, rank 0 writes it
        from accelerate import PartialState

        state = PartialState()
        device, main_process = state.device, state.is_main_process
    try:
        gen = VideoGenerator.from_folder(model, device=device, options=load_options(args))
    except (OSError, ValueError) as err:  # truncated weights, an invalid config.json: the folder, not the code
        raise BadInput(f"cannot load the model in {model.path}: {str(err).splitlines()[0]}") from err
    # progress goes to stderr, so it shows with --json too: per step for one clip, per clip for a prompts file
    done = 0
    try:
        for job in tqdm(jobs, desc="clips", unit="clip", disable=len(jobs) == 1 or not main_process):
            image = images[job.image][None] if job.image is not None else None
            out = gen([job.prompt], [job.seed], steps=args.steps, guidance=args.guidance, height=height,
                      width=width, frames=frames, images=image, progress=len(jobs) == 1 and main_process)
            if main_process:
                write_mp4(job.output, np.ascontiguousarray(out.frames[0]), raw=args.raw_size)
                report(job, out, args.json, model.path)
            done += 1
    except KeyboardInterrupt:
        raise Interrupted(written(jobs, done)) from None
    return 0


def pick_model(name: str, steps: int | None) -> str:
    """The model to open: with the shipped 'student' and --steps M, the shipped student distilled for M steps, else
    the nearest one (said on stderr: it runs off its grid)."""
    if name != "student" or steps is None:
        return name
    from accvideo.backbones.registry import shipped_student_for

    picked, note = shipped_student_for(steps)
    if note:
        print(f"accvideo: {note}", file=sys.stderr, flush=True)
    return picked


def report(job: Job, out, as_json: bool, model: Path) -> None:
    """One line per written clip: its timings as JSON (with the model folder that ran), or a sentence."""
    t = out.timings
    record = {"prompt": job.prompt, "seed": job.seed, "model": str(model), "steps": out.steps, "nfe": out.nfe,
              "output": str(job.output),
              "seconds_text": round(t.text, 4), "seconds_denoise": round(t.denoise, 4),
              "seconds_decode": round(t.decode, 4), "seconds_total": round(t.total, 4)}
    print(json.dumps(record) if as_json else f"wrote {job.output} ({out.steps} steps, {out.nfe} NFE, "
          f"{t.total:.2f} s)", flush=True)


def add_parser(sub) -> None:
    """Register `generate`."""
    g = sub.add_parser("generate", help="generate clips (T2V, or I2V with --image)")
    g.add_argument("--model", default="teacher",
                   help="teacher, student (with --steps M: the shipped student distilled for M steps), or a model "
                        "folder")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--prompt", help="one prompt")
    src.add_argument("--prompts", help=".txt (one prompt per line) or .jsonl (prompt, seed, image)")
    g.add_argument("--image", help="first frame (PNG of the clip's size): image-to-video")
    g.add_argument("--steps", type=int, help="Euler steps (default: the model's)")
    g.add_argument("--guidance", type=float, help="CFG scale (default: the model's; 1 = off)")
    g.add_argument("--seed", type=int, default=0, help="noise seed; with --prompts, seed + line index")
    g.add_argument("--height", type=int)
    g.add_argument("--width", type=int)
    g.add_argument("--frames", type=int, help="1 + 4k")
    g.add_argument("--output", default="output.mp4", help="with --prompt: the mp4 to write")
    g.add_argument("--output-dir", default="outputs", help="with --prompts: folder of 0000.mp4, 0001.mp4, ...")
    g.add_argument("--json", action="store_true", help="one JSON line per clip on stdout")
    g.add_argument("--raw-size", action="store_true",
                   help="write clips at the model's size (by default a clip whose short side is under 256 px "
                        "is enlarged, nearest-neighbour, by a whole factor to reach it)")
    g.add_argument("--device", default="cpu")
    add_memory_options(g)
    g.add_argument("--context-parallel", type=int, default=1, metavar="N",
                   help="Wan2.1: split one clip's tokens over N GPUs (Ulysses); launch N ranks with accelerate")
    g.set_defaults(func=run)
