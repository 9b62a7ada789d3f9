"""The `accvideo` command line: generate, train-vae, train-teacher, synvid, distill, studio, eval.

Bad input ends with a one-line error on stderr and exit code 2, before any model loads and
without leaving a partial output file.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

EXIT_BAD_INPUT = 2
MAX_STEPS = 1000  # Euler steps a command accepts (the teacher takes 50)
MAX_SEED = 2**63 - 1  # torch.Generator seeds are 64-bit
PROMPT_SUFFIXES = (".txt", ".jsonl")


class BadInput(Exception):
    """A user error: reported as one line, exit code 2."""


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
    if args.prompts is None:
        if args.prompt is None or not args.prompt.strip():
            raise BadInput("empty prompt: give --prompt TEXT or --prompts FILE")
        image = Path(args.image) if args.image else None
        return [Job(args.prompt, args.seed, image, Path(args.output))]
    path = Path(args.prompts)
    if path.suffix not in PROMPT_SUFFIXES:
        raise BadInput(f"prompts file {path} must be .txt (one prompt per line) or .jsonl, not {path.suffix or 'no suffix'}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read prompts file {path}: {err.__class__.__name__}") from err
    out_dir = Path(args.output_dir)
    jobs: list[Job] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                obj = json.loads(line)
                prompt, seed, image = obj["prompt"], int(obj.get("seed", args.seed + len(jobs))), obj.get("image")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise BadInput(f"{path}:{lineno}: not a JSON object with a 'prompt' ({err.__class__.__name__})") from err
            if not isinstance(prompt, str):
                raise BadInput(f"{path}:{lineno}: 'prompt' must be a string, got {type(prompt).__name__}")
            if not prompt.strip():
                raise BadInput(f"{path}:{lineno}: empty prompt")
            check_seed(seed, f"{path}:{lineno}: seed")
            image_path = (path.parent / image) if image else (Path(args.image) if args.image else None)
        else:
            prompt, seed, image_path = line.strip(), args.seed + len(jobs), Path(args.image) if args.image else None
        jobs.append(Job(prompt, seed, image_path, out_dir / f"{len(jobs):04d}.mp4"))
    if not jobs:
        raise BadInput(f"no prompts in {path}")
    return jobs


def check_seed(seed: int, what: str) -> None:
    """A seed torch.Generator takes: 0 <= seed <= 2**63 - 1."""
    if not 0 <= seed <= MAX_SEED:
        raise BadInput(f"{what} must be from 0 to {MAX_SEED}, got {seed}")


def check_outputs(jobs: list[Job]) -> None:
    """Every output is a writable file path (not a folder); an existing file is replaced, with a warning."""
    import os

    for job in jobs:
        out = job.output
        if out.is_dir():
            raise BadInput(f"output {out} is a folder; give a file name such as {out / 'clip.mp4'}")
        parent = out.parent if str(out.parent) else Path(".")
        if parent.exists() and not os.access(parent, os.W_OK):
            raise BadInput(f"cannot write {out}: the folder {parent} is not writable")
        if out.exists():
            print(f"accvideo: warning: replacing {out}", file=sys.stderr)


def check_sampling(steps: int | None, guidance: float | None) -> None:
    """Steps in 1..MAX_STEPS, guidance a finite number >= 0."""
    import math

    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise BadInput(f"--steps must be from 1 to {MAX_STEPS}, got {steps}")
    if guidance is not None and not (math.isfinite(guidance) and guidance >= 0):
        raise BadInput(f"--guidance must be a finite number >= 0, got {guidance}")


def check_jobs(jobs: list[Job], height: int, width: int, frames: int, check_geometry=None) -> dict[Path, object]:
    """Validate geometry (the Shapes world's unless a backbone's check is given) and images before loading any
    model; returns the decoded images."""
    from accvideo.video import read_image

    if check_geometry is None:
        from accvideo.shapes.spec import check_geometry
    try:
        check_geometry(height, width, frames)
    except ValueError as err:
        raise BadInput(str(err)) from err
    images = {}
    for job in jobs:
        if job.image is None or job.image in images:
            continue
        try:
            image = read_image(job.image)
        except ValueError as err:
            raise BadInput(str(err)) from err
        if image.shape[:2] != (height, width):
            raise BadInput(f"image {job.image} is {image.shape[1]}x{image.shape[0]}, the clip is {width}x{height}")
        images[job.image] = image
    return images


def add_memory_options(p: argparse.ArgumentParser, distill: bool = False) -> None:
    """--dtype, and for diffusers backbones --offload, --vae-tiling, --vae-slicing (and --context-parallel)."""
    what = "the frozen teacher's weights" if distill else "weights"
    p.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help=f"dtype of {what} (bf16 for Wan2.1 / HunyuanVideo on a GPU)")
    if distill:
        return
    p.add_argument("--offload", action="store_true", help="model CPU offload: each part on the GPU only while it runs")
    p.add_argument("--vae-tiling", action="store_true", help="VAE in spatial tiles (large clips)")
    p.add_argument("--vae-slicing", action="store_true", help="VAE one clip of a batch at a time")


def load_options(args: argparse.Namespace):
    """The LoadOptions named by the memory flags."""
    from accvideo.backbones.base import LoadOptions

    return LoadOptions(dtype=args.dtype, offload=args.offload, vae_tiling=args.vae_tiling,
                       vae_slicing=args.vae_slicing, context_parallel=getattr(args, "context_parallel", 1))


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate clips with a teacher, a student or a model folder (miniature, Wan2.1, HunyuanVideo)."""
    import numpy as np

    from accvideo.backbones.registry import backbone_name, check_geometry, check_tasks, load_settings
    from accvideo.pipeline import VideoGenerator, resolve_model
    from accvideo.video import write_mp4

    try:
        folder = resolve_model(args.model)
        settings = load_settings(folder)
    except (FileNotFoundError, ValueError) as err:
        raise BadInput(str(err)) from err
    pick = lambda given, default: default if given is None else given  # noqa: E731 (0 is an answer, not a default)
    height, width, frames = pick(args.height, settings.height), pick(args.width, settings.width), \
        pick(args.frames, settings.frames)
    check_sampling(args.steps, args.guidance)
    jobs = read_jobs(args)
    check_outputs(jobs)
    images = check_jobs(jobs, height, width, frames, lambda h, w, f: check_geometry(folder, h, w, f))
    try:
        check_tasks(backbone_name(folder), [job.image is not None for job in jobs])
    except ValueError as err:
        raise BadInput(str(err)) from err
    device, main_process = args.device, True
    if args.context_parallel > 1:  # one clip over several GPUs: every rank runs it, rank 0 writes it
        from accelerate import PartialState

        state = PartialState()
        device, main_process = state.device, state.is_main_process
    try:
        gen = VideoGenerator.from_folder(str(folder), device=device, options=load_options(args))
    except (OSError, ValueError) as err:  # truncated weights, an invalid config.json: the folder, not the code
        raise BadInput(f"cannot load the model in {folder}: {str(err).splitlines()[0]}") from err
    from tqdm.auto import tqdm

    # progress goes to stderr, so it shows with --json too: per step for one clip, per clip for a prompts file
    for job in tqdm(jobs, desc="clips", unit="clip", disable=len(jobs) == 1 or not main_process):
        image = images[job.image][None] if job.image is not None else None
        out = gen([job.prompt], [job.seed], steps=args.steps, guidance=args.guidance, height=height, width=width,
                  frames=frames, images=image, progress=len(jobs) == 1 and main_process)
        if not main_process:
            continue
        write_mp4(job.output, np.ascontiguousarray(out.frames[0]))
        t = out.timings
        record = {"prompt": job.prompt, "seed": job.seed, "steps": out.steps, "nfe": out.nfe, "output": str(job.output),
                  "seconds_text": round(t.text, 4), "seconds_denoise": round(t.denoise, 4),
                  "seconds_decode": round(t.decode, 4), "seconds_total": round(t.total, 4)}
        print(json.dumps(record) if args.json else f"wrote {job.output} ({out.steps} steps, {out.nfe} NFE, "
              f"{t.total:.2f} s)", flush=True)
    return 0


def cmd_train_vae(args: argparse.Namespace) -> int:
    """Train the ShapesAutoencoder."""
    from accvideo.training.vae import VAETrainConfig, train_vae

    try:
        cfg = VAETrainConfig(out=args.out, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                             foreground_weight=args.foreground_weight, init=args.init, decoder_only=args.decoder_only,
                             warmup=args.warmup, stop_at=args.stop_at, threads=args.threads,
                             export_at_stop=args.export, temporal_decoder=args.temporal_decoder,
                             temporal_weight=args.temporal_weight, keyframe_encoder=args.keyframe_encoder,
                             widths=tuple(args.widths))
        print(train_vae(cfg, resume=args.resume))
    except ValueError as err:  # settings, an unreadable checkpoint or init folder
        raise BadInput(str(err)) from err
    return 0


def cmd_train_teacher(args: argparse.Namespace) -> int:
    """Prepare the latent dataset if needed, then train the teacher."""
    import torch

    from accvideo.training.teacher import (TeacherTrainConfig, export_teacher_checkpoint, prepare_teacher_data,
                                           train_teacher)

    if args.export_checkpoint:
        try:
            print(export_teacher_checkpoint(args.out))
        except (FileNotFoundError, ValueError, TypeError) as err:  # TypeError: a train_config.json not ours
            raise BadInput(str(err)) from err
        return 0
    try:  # settings are checked before hours of work start
        cfg = TeacherTrainConfig(data=args.data, out=args.out, vae=args.vae, preset=args.preset, steps=args.steps,
                                 batch_size=args.batch_size, lr=args.lr, seed=args.seed, init=args.init,
                                 threads=args.threads, warmup=args.warmup, decay_steps=args.decay_steps, ema=args.ema,
                                 canonical_until=args.canonical_until, canonical_fraction=args.canonical_fraction,
                                 eval_every=args.eval_every, eval_prompts=args.eval_prompts,
                                 checkpoint_every=args.checkpoint_every, stop_at=args.stop_at,
                                 foreground_weight=args.foreground_weight)
        if args.clips < 1:
            raise ValueError(f"--clips must be at least 1, got {args.clips}")
        if not Path(args.data).exists():
            torch.set_num_threads(args.threads)
            prepare_teacher_data(args.vae, args.data, args.clips)
        print(train_teacher(cfg, resume=args.resume))
    except ValueError as err:  # settings, a data file or checkpoint that is not ours
        raise BadInput(str(err)) from err
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="accvideo", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="generate clips (T2V, or I2V with --image)")
    g.add_argument("--model", default="teacher", help="teacher, student, or a model folder")
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
    g.add_argument("--device", default="cpu")
    add_memory_options(g)
    g.add_argument("--context-parallel", type=int, default=1, metavar="N",
                   help="Wan2.1: split one clip's tokens over N GPUs (Ulysses); launch N ranks with accelerate")
    g.set_defaults(func=cmd_generate)

    v = sub.add_parser("train-vae", help="train the miniature's VAE on Shapes clips")
    v.add_argument("--out", default="runs/vae")
    v.add_argument("--steps", type=int, default=3000)
    v.add_argument("--batch-size", type=int, default=8)
    v.add_argument("--lr", type=float, default=2e-3)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--warmup", type=int, default=100)
    v.add_argument("--foreground-weight", type=float, default=10.0, help="loss weight of pixels on and near objects")
    v.add_argument("--init", help="start from this VAE folder")
    v.add_argument("--decoder-only", action="store_true", help="train the decoder alone (keeps the latent space)")
    v.add_argument("--temporal-decoder", action="store_true",
                   help="causal temporal convolutions across latent frames in the decoder")
    v.add_argument("--temporal-weight", type=float, default=0.0, help="weight of the frame-to-frame change loss")
    v.add_argument("--keyframe-encoder", action="store_true",
                   help="latent frame g encodes frame 4g only; the temporal decoder rebuilds the frames between")
    v.add_argument("--widths", type=int, nargs="+", default=[32, 96], help="channels per resolution level")
    v.add_argument("--stop-at", type=int, help="end this invocation after this step")
    v.add_argument("--export", action="store_true", help="with --stop-at: export the VAE where it stops")
    v.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    v.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    v.set_defaults(func=cmd_train_vae)

    t = sub.add_parser("train-teacher", help="train the miniature teacher with flow matching")
    t.add_argument("--vae", default="assets/vae")
    t.add_argument("--data", default="runs/teacher_data.safetensors", help="latent dataset (prepared if missing)")
    t.add_argument("--clips", type=int, default=6000, help="training clips to prepare")
    t.add_argument("--out", default="runs/teacher")
    t.add_argument("--preset", default="shapes-hy", help="size preset: shapes-hy (HunyuanVideo class), shapes-xs, ...")
    t.add_argument("--steps", type=int, default=4000)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    t.add_argument("--decay-steps", type=int, help="constant lr, then cosine over the last N steps (default: cosine)")
    t.add_argument("--ema", type=float, default=0.998, help="EMA decay of the exported weights")
    t.add_argument("--canonical-until", type=int, default=0, help="steps that see canonical captions only")
    t.add_argument("--canonical-fraction", type=float, default=0.3, help="canonical caption probability after that")
    t.add_argument("--eval-every", type=int, default=0, help="steps between proxy evaluations (proxy.csv)")
    t.add_argument("--foreground-weight", type=float, default=1.0,
                   help="loss weight of latent cells on and around objects (background cells weigh 1)")
    t.add_argument("--eval-prompts", type=int, default=48, help="canonical eval prompts of the proxy")
    t.add_argument("--checkpoint-every", type=int, default=100)
    t.add_argument("--stop-at", type=int, help="end this invocation after this step")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", help="start from this transformer folder")
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--export-checkpoint", action="store_true",
                   help="export the EMA of OUT's latest checkpoint to OUT/checkpoint-teacher (no training, no data)")
    t.set_defaults(func=cmd_train_teacher)

    from accvideo.synvid.cli import add_parser as add_synvid

    add_synvid(sub)
    from accvideo.distill.cli import add_parser as add_distill

    add_distill(sub)
    from accvideo.studio_cli import add_parser as add_studio

    add_studio(sub)
    from accvideo.evaluation.cli import add_parser as add_eval

    add_eval(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    import warnings

    args = build_parser().parse_args(argv)
    shown = warnings.formatwarning
    warnings.formatwarning = lambda message, *_: f"accvideo: warning: {message}\n"  # one line, as errors are
    try:
        return args.func(args)
    except BadInput as err:
        print(f"accvideo: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (FileExistsError, FileNotFoundError) as err:
        print(f"accvideo: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        warnings.formatwarning = shown  # in-process callers (tests, notebooks) keep their own format


if __name__ == "__main__":
    sys.exit(main())
