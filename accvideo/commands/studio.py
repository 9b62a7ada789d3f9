"""`accvideo studio`: serve the Gradio studio (teacher and student side by side) on 127.0.0.1.

Either side may be the shipped miniature or any folder `accvideo generate` runs (Wan2.1, HunyuanVideo, a
student distilled from one; --dtype, --offload and VAE tiling as there). The models are checked before
anything loads (a missing teacher or student folder is a one-line error);
when the shipped student is missing, the student side is the teacher at 5 steps, labelled so. The shipped
students for fewer steps (assets/student-m3, -m2, -m1, where present) stand beside the shipped student.
The studio lives in the `app` package; only this command module imports it, when the command runs.
"""

from __future__ import annotations

import argparse
import os
import signal

from accvideo.commands.common import BadInput, add_memory_options, load_options


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the studio as Ctrl+C does: the server closes, the temp folder goes


def more_students(args: argparse.Namespace) -> list[str]:
    """--more-students as given; by default the shipped few-step students beside the shipped student."""
    if args.more_students is not None:
        return args.more_students
    from accvideo.backbones.registry import shipped_few_step_students

    return shipped_few_step_students() if args.student == "student" else []


def run(args: argparse.Namespace) -> int:
    """Build the runner (models load on the first request) and serve the studio until interrupted."""
    if not 1 <= args.port <= 65535:
        raise BadInput(f"--port must be from 1 to 65535, got {args.port}")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the studio never calls home
    from app.runner import StudioRunner

    try:
        runner = StudioRunner(args.teacher, args.student, device=args.device, options=load_options(args),
                              more_students=more_students(args))
    except (FileNotFoundError, ValueError) as err:  # a missing folder, or one no backbone runs
        raise BadInput(str(err)) from err
    if runner.student.fallback:
        print(f"accvideo studio: no student shipped yet; the student side is the teacher at "
              f"{runner.student.settings.steps} steps, labelled so", flush=True)
    from app.studio import build_demo, launch

    print(f"accvideo studio: http://{args.host}:{args.port} (Ctrl+C to stop)", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        launch(build_demo(runner), host=args.host, port=args.port)
    finally:
        runner.close()
    return 0


def add_parser(sub) -> None:
    """Register `studio`."""
    p = sub.add_parser("studio", help="the Gradio studio: teacher and student side by side")
    p.add_argument("--teacher", default="teacher", help="teacher (the shipped one) or a model folder")
    p.add_argument("--student", default="student",
                   help="student (the shipped one; if missing: the teacher at 5 steps, labelled so) or a model folder")
    p.add_argument("--more-students", nargs="*", default=None, metavar="FOLDER",
                   help="students distilled for other step counts (--student-steps m): the studio's student steps "
                        "pick the one for their m (default: the shipped student-m3, -m2, -m1 beside the shipped "
                        "student; none with another --student)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    add_memory_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.set_defaults(func=run)
