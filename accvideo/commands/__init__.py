"""The `accvideo` command line, the top floor: thin commands that parse flags into the stages' configs and call them.

generate, train-vae, train-teacher, average-weights, synvid, distill, eval, studio. Bad input ends with a one-line
error on stderr and exit code 2, before any model loads and without leaving a partial output file. Nothing below
this package imports it. Ctrl-C ends with one line saying what was kept, and exit code 130. The libraries' progress
bars, logs and warnings show only with `accvideo --verbose`.
"""

from __future__ import annotations

import argparse
import sys

from accvideo.commands.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, BadInput, Interrupted
from accvideo.commands.quiet import library_output


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from accvideo.commands import distill, evaluate, generate, studio, synvid, train

    p = argparse.ArgumentParser(prog="accvideo", description=__doc__.splitlines()[0])
    p.add_argument("--verbose", action="store_true",
                   help="also show the libraries' progress bars, logs and warnings (hidden by default)")
    sub = p.add_subparsers(dest="command", required=True)
    for module in (generate, train, synvid, distill, studio, evaluate):
        module.add_parser(sub)
    return p


def nothing_kept(args: argparse.Namespace) -> str:
    """What a command that names no `kept` of its own keeps when interrupted: nothing."""
    return "nothing was written"


def close_progress_bars() -> None:
    """End the line of any progress bar left open, so the next message starts a line of its own."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ())):
        bar.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    import warnings

    args = build_parser().parse_args(argv)
    shown = warnings.formatwarning
    warnings.formatwarning = lambda message, *_: f"accvideo: warning: {message}\n"  # one line, as errors are
    try:
        with library_output(args.verbose, import_libraries=getattr(args, "loads_models", True)):
            return args.func(args)
    except (BadInput, FileExistsError, FileNotFoundError) as err:
        print(f"accvideo: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (Interrupted, KeyboardInterrupt) as err:
        kept = str(err) if isinstance(err, Interrupted) else getattr(args, "kept", nothing_kept)(args)
        close_progress_bars()
        print(f"accvideo: interrupted: {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        warnings.formatwarning = shown  # in-process callers (tests, notebooks) keep their own format
