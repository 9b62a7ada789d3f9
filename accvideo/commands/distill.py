"""`accvideo distill`: Algorithm 1 from a SynVid folder to a few-step student."""

from __future__ import annotations

import argparse

from accvideo.commands.common import BadInput, add_config_options, config_from_args


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
    try:
        folder = distill(cfg, resume=args.resume)
    except (SynVidError, ValueError, DivergenceError) as err:  # includes an unsupported or unreadable teacher folder
        raise BadInput(str(err)) from err
    if folder is not None:
        print(folder)
    return 0


def add_parser(sub) -> None:
    """Register `distill`."""
    from accvideo.distill.config import DistillConfig

    d = sub.add_parser("distill", help="distil a few-step student from SynVid (Algorithm 1)")
    add_config_options(d, DistillConfig, skip=("mode",), required=("out",))
    d.add_argument("--no-adv", action="store_true", help="ablation: trajectory loss only")
    d.add_argument("--adv-only", action="store_true", help="ablation: adversarial loss only")
    d.add_argument("--resume", action="store_true")
    d.add_argument("--export-checkpoint", action="store_true",
                   help="export the student of OUT's latest checkpoint to OUT/checkpoint-student (no training)")
    d.set_defaults(func=run)
