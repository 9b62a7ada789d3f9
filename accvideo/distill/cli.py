"""`accvideo distill`: Algorithm 1 from a SynVid folder to a few-step student."""

from __future__ import annotations

import argparse


def cmd_distill(args: argparse.Namespace) -> int:
    """Distil a student and export it to OUT/final."""
    from accvideo.cli import BadInput
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
    mode = "traj" if args.no_adv else "adv" if args.adv_only else "full"
    if args.no_adv and args.adv_only:
        raise BadInput("--no-adv and --adv-only exclude each other")
    try:
        cfg = DistillConfig(data=args.data, teacher=args.teacher, out=args.out, iters=args.iters, lr=args.lr,
                            lr_heads=args.lr_heads, lambda_adv=args.lambda_adv, batch_size=args.batch_size,
                            grad_accum=args.grad_accum, adv_loss=args.adv_loss, mode=mode,
                            single_head=args.single_head, schedule=args.schedule, ema=args.ema,
                            data_kind=args.data_kind, student_steps=args.student_steps,
                            teacher_steps=args.teacher_steps,
                            checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, seed=args.seed,
                            threads=args.threads, stop_at=args.stop_at, dtype=args.dtype,
                            gradient_checkpointing=args.gradient_checkpointing)
        folder = distill(cfg, resume=args.resume)
    except (SynVidError, ValueError, DivergenceError) as err:  # includes an unsupported or unreadable teacher folder
        raise BadInput(str(err)) from err
    if folder is not None:
        print(folder)
    return 0


def add_parser(sub) -> None:
    """Register `distill`."""
    d = sub.add_parser("distill", help="distil a few-step student from SynVid (Algorithm 1)")
    d.add_argument("--data", help="SynVid folder (or, with --data-kind real, a teacher-data file); required to train")
    d.add_argument("--data-kind", choices=("synvid", "real"), default="synvid",
                   help="ablation: real = forward diffusion of real latents, teacher solutions as targets")
    d.add_argument("--student-steps", type=int, default=5, help="m, with --data-kind real")
    d.add_argument("--teacher-steps", type=int, default=50, help="n, with --data-kind real")
    d.add_argument("--teacher", default="teacher")
    d.add_argument("--out", required=True)
    d.add_argument("--iters", type=int, default=200, help="outer iterations (each covers every key interval)")
    d.add_argument("--lr", type=float, default=5e-5)
    d.add_argument("--lr-heads", type=float, default=2e-4)
    d.add_argument("--lambda-adv", type=float, default=0.1)
    d.add_argument("--batch-size", type=int, default=8)
    d.add_argument("--grad-accum", type=int, default=1)
    d.add_argument("--adv-loss", choices=("nonsaturating", "hinge"), default="nonsaturating")
    d.add_argument("--no-adv", action="store_true", help="ablation: trajectory loss only")
    d.add_argument("--adv-only", action="store_true", help="ablation: adversarial loss only")
    d.add_argument("--single-head", action="store_true", help="ablation: one projection head for all timesteps")
    d.add_argument("--schedule", choices=("accvideo", "uniform"), default="accvideo")
    d.add_argument("--ema", type=float, default=0.0, help="EMA decay of the exported student (0 = off)")
    d.add_argument("--checkpoint-every", type=int, default=25)
    d.add_argument("--sample-every", type=int, default=0)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=2)
    d.add_argument("--stop-at", type=int, help="end this invocation after this iteration")
    d.add_argument("--resume", action="store_true")
    d.add_argument("--export-checkpoint", action="store_true",
                   help="export the student of OUT's latest checkpoint to OUT/checkpoint-student (no training)")
    from accvideo.cli import add_memory_options

    add_memory_options(d, distill=True)
    d.add_argument("--gradient-checkpointing", action="store_true", help="recompute the student's blocks (memory)")
    d.set_defaults(func=cmd_distill)
