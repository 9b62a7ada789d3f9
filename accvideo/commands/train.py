"""`accvideo train-vae` and `accvideo train-teacher`: the miniature's VAE and teacher, from the Shapes world."""

from __future__ import annotations

import argparse
from pathlib import Path

from accvideo import validation
from accvideo.commands.common import BadInput, add_config_options, config_from_args


def run_vae(args: argparse.Namespace) -> int:
    """Train the ShapesAutoencoder."""
    from accvideo.training.vae import VAETrainConfig, train_vae

    cfg = config_from_args(VAETrainConfig, args)
    validation.output_folder(cfg.out, "--out")
    try:
        print(train_vae(cfg, resume=args.resume))
    except ValueError as err:  # an unreadable checkpoint or init folder
        raise BadInput(str(err)) from err
    return 0


def run_teacher(args: argparse.Namespace) -> int:
    """Prepare the latent dataset if needed, then train the teacher (or export a run's checkpoint)."""
    import torch

    from accvideo.training.teacher import TeacherTrainConfig, export_teacher_checkpoint, train_teacher
    from accvideo.training.teacher_data import prepare_teacher_data

    if args.export_checkpoint:
        try:
            print(export_teacher_checkpoint(args.out))
        except (FileNotFoundError, ValueError, TypeError) as err:  # TypeError: a train_config.json not ours
            raise BadInput(str(err)) from err
        return 0
    cfg = config_from_args(TeacherTrainConfig, args)  # settings are checked before hours of work start
    validation.whole("--clips", args.clips, low=1)
    validation.output_folder(cfg.out, "--out")
    if Path(cfg.data).exists():
        validation.input_file(cfg.data, "--data")
    else:  # prepared here first
        validation.output_file(cfg.data, "--data")
    try:
        if not Path(cfg.data).exists():
            torch.set_num_threads(cfg.threads)
            prepare_teacher_data(cfg.vae, cfg.data, args.clips)
        print(train_teacher(cfg, resume=args.resume))
    except ValueError as err:  # a data file or checkpoint that is not ours
        raise BadInput(str(err)) from err
    return 0


def run_average(args: argparse.Namespace) -> int:
    """Average the weights of model folders of one architecture into a new folder."""
    from accvideo.training.soup import average_weights

    validation.output_folder(args.out, "--out")
    try:
        print(average_weights(args.models, args.out))
    except ValueError as err:  # fewer than two folders, a foreign folder, other architectures, a used --out
        raise BadInput(str(err)) from err
    return 0


def kept(args: argparse.Namespace) -> str:
    """What an interrupted training run kept: its last checkpoint, from which --resume continues."""
    if not Path(args.out, "checkpoint.json").is_file():
        return f"no checkpoint was written yet in {args.out}"
    return f"kept {args.out} with its last checkpoint; the same command with --resume continues from it"


def add_parser(sub) -> None:
    """Register `train-vae`, `train-teacher` and `average-weights`."""
    from accvideo.training.teacher import TeacherTrainConfig
    from accvideo.training.vae import VAETrainConfig

    v = sub.add_parser("train-vae", help="train the miniature's VAE on Shapes clips")
    add_config_options(v, VAETrainConfig, rename={"export_at_stop": "--export"})
    v.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    v.set_defaults(func=run_vae, kept=kept)

    t = sub.add_parser("train-teacher", help="train the miniature teacher with flow matching")
    add_config_options(t, TeacherTrainConfig)
    t.add_argument("--clips", type=int, default=6000, help="training clips to prepare when --data is missing")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    t.add_argument("--export-checkpoint", action="store_true",
                   help="export the EMA of OUT's latest checkpoint to OUT/checkpoint-teacher (no training, no data)")
    t.set_defaults(func=run_teacher, kept=kept)

    a = sub.add_parser("average-weights", help="average the weights of teacher folders from one run (a model soup)")
    a.add_argument("models", nargs="+", help="model folders of one architecture (diffusers config and weights)")
    a.add_argument("--out", required=True, help="a new folder for the averaged model")
    a.set_defaults(func=run_average)
