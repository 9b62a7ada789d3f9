"""`accvideo distill`: Algorithm 1 from a SynVid folder to a few-step student."""

from __future__ import annotations

import argparse
from pathlib import Path

from accvideo import validation
from accvideo.commands.common import BadInput, add_config_options, config_from_args, open_model


def run(args: argparse.Namespace) -> int:
    """Distil a student and export it to OUT/final (or export a run's checkpoint)."""
    from accvideo.distill.config import DistillConfig
    from accvideo.distill.trainer import DivergenceError, distill
    from accvideo.synvid.dataset import SynVidError

    if args.export_checkpoint:
        from accvideo.distill.export import export_checkpoint

        try:
            print(export_checkpoint(args.out))
        except (FileNotFoundError, ValueError) as err:
            raise BadInput(str(err)) from err
        return 0
    if not args.data:
        raise BadInput("--data is required to train (a SynVid folder)")
    if args.no_adv and args.adv_only:
        raise BadInput("--no-adv and --adv-only exclude each other")
    mode = "traj" if args.no_adv else "adv" if args.adv_only else "full"
    cfg = config_from_args(DistillConfig, args, mode=mode)
    check_paths(cfg)
    if cfg.data_kind == "synvid" and not args.any_teacher:
        check_teacher(cfg)
    try:
        folder = distill(cfg, resume=args.resume)
    except (SynVidError, ValueError, DivergenceError) as err:  # includes an unsupported or unreadable teacher folder
        raise BadInput(str(err)) from err
    if folder is not None:
        print(folder)
    return 0


def check_paths(cfg) -> None:
    """The run folder can be written; the data and the id / caption files are there and readable."""
    validation.output_folder(cfg.out, "--out")
    if cfg.data_kind == "synvid":
        validation.input_folder(cfg.data, "--data")
    else:
        validation.input_file(cfg.data, "--data")
    if cfg.exclude:
        validation.input_file(cfg.exclude, "--exclude")
    folder, _ = cfg.real_source()
    if folder:
        validation.input_folder(folder, "--real-videos")


def check_teacher(cfg) -> None:
    """--teacher must be the teacher that recorded the SynVid (backbone, architecture, weights' hash)."""
    from accvideo.synvid.dataset import SynVidError, read_settings
    from accvideo.synvid.run import teacher_mismatch

    try:
        mismatch = teacher_mismatch(read_settings(Path(cfg.data)), open_model(cfg.teacher))
    except SynVidError as err:
        raise BadInput(str(err)) from err
    if mismatch:
        raise BadInput(f"--data {cfg.data} was {mismatch}: pass that --teacher, or --any-teacher to distil from "
                       "this one anyway")


def kept(args: argparse.Namespace) -> str:
    """What an interrupted run kept: its checkpoints, from which --resume continues."""
    checkpoints = sorted(Path(args.out).glob("checkpoint-rank*.json"))
    if not checkpoints:
        return f"no checkpoint was written yet in {args.out}"
    return f"kept {args.out} with its last checkpoint; the same command with --resume continues from it"


class RecipeAction(argparse.Action):
    """--recipe NAME: sets the recipe's fields where it stands, so that a flag given after it overrides them."""

    def __call__(self, parser, namespace, value, option_string=None):
        from accvideo.distill.config import RECIPES

        setattr(namespace, self.dest, value)
        for name, field_value in RECIPES[value].items():
            setattr(namespace, name, list(field_value) if isinstance(field_value, tuple) else field_value)


def add_parser(sub) -> None:
    """Register `distill`."""
    from accvideo.distill.config import RECIPES, DistillConfig

    d = sub.add_parser("distill", help="distil a few-step student from SynVid (Algorithm 1)")
    d.add_argument("--recipe", choices=tuple(RECIPES), action=RecipeAction,
                   help="a named recipe: paper (Algorithm 1 as published) or shipped (the shipped 5-step student); "
                        "flags given after it override its values (docs/distill.md)")
    add_config_options(d, DistillConfig, skip=("mode",), required=("out",))
    d.add_argument("--no-adv", action="store_true", help="ablation: trajectory loss only")
    d.add_argument("--adv-only", action="store_true", help="ablation: adversarial loss only")
    d.add_argument("--resume", action="store_true")
    d.add_argument("--any-teacher", action="store_true",
                   help="distil even when --teacher is not the teacher that recorded --data (refused by default)")
    d.add_argument("--export-checkpoint", action="store_true",
                   help="export the student of OUT's latest checkpoint to OUT/checkpoint-student (no training)")
    d.set_defaults(func=run, kept=kept)
