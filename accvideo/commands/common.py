"""What every command shares: the one-line error, the checks made before any model loads, memory flags, and
flags built from a stage's config dataclass (its defaults and field comments are the flags' defaults and help).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
import typing
from pathlib import Path

from accvideo import validation
from accvideo.validation import InvalidInput

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it

BadInput = InvalidInput  # a user error: reported as one line, exit code 2 (validation raises the same class)


class Interrupted(Exception):
    """Ctrl-C, caught where a command knows what it kept; the message says so (exit code 130)."""


def check_seed(seed: int, what: str) -> None:
    """A seed torch.Generator takes: 0 <= seed <= 2**63 - 1."""
    validation.seed(what, seed)


def check_sampling(steps: int | None, guidance: float | None) -> None:
    """Steps in 1..MAX_STEPS, guidance a finite number >= 0."""
    if steps is not None:
        validation.steps("--steps", steps)
    if guidance is not None:
        validation.guidance("--guidance", guidance)


def check_writable(out: Path) -> None:
    """A file path in a writable folder: absent, or a regular file (replaced, with a warning); a folder, device,
    FIFO, socket or link there is refused."""
    validation.output_file(out, "output")
    if out.exists():
        print(f"accvideo: warning: replacing {out}", file=sys.stderr)


def check_positive(args: argparse.Namespace, *names: str) -> None:
    """Each named int flag is at least 1 (e.g. threads, batch_size)."""
    for name in names:
        validation.whole(flag(name), getattr(args, name), low=1)


def open_model(name_or_path: str):
    """The ModelFolder of 'teacher', 'student' or a path, read once; a missing or foreign folder is BadInput."""
    from accvideo.backbones.registry import ModelFolder

    try:
        return ModelFolder.open(name_or_path)
    except (FileNotFoundError, ValueError) as err:
        raise BadInput(str(err)) from err


def add_memory_options(p: argparse.ArgumentParser) -> None:
    """--dtype, and for diffusers backbones --offload, --vae-tiling, --vae-slicing."""
    p.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="dtype of the weights (bf16 for Wan2.1 / HunyuanVideo on a GPU)")
    p.add_argument("--offload", action="store_true", help="model CPU offload: each part on the GPU only while it runs")
    p.add_argument("--vae-tiling", action="store_true", help="VAE in spatial tiles (large clips)")
    p.add_argument("--vae-slicing", action="store_true", help="VAE one clip of a batch at a time")


def load_options(args: argparse.Namespace):
    """The LoadOptions named by the memory flags."""
    from accvideo.backbones.base import LoadOptions

    return LoadOptions(dtype=args.dtype, offload=args.offload, vae_tiling=args.vae_tiling,
                       vae_slicing=args.vae_slicing, context_parallel=getattr(args, "context_parallel", 1))


def field_help(cls: type) -> dict[str, str]:
    """Each field's trailing comment in a config dataclass's source, with the comment-only lines that follow it:
    the one description of that setting."""
    names = {f.name for f in dataclasses.fields(cls)}
    found, last = {}, None
    for line in inspect.getsource(cls).splitlines():
        match = re.match(r"\s+(\w+):[^#]*#\s*(.+)$", line)
        more = re.match(r"\s+#\s*(.+)$", line)
        if match and match.group(1) in names:
            last = match.group(1)
            found[last] = match.group(2).strip()
        elif more and last:
            found[last] += " " + more.group(1).strip()
        else:
            last = None
    return found


def flag(name: str) -> str:
    """A field name as a flag: batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


def add_config_options(p: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (),
                       rename: dict[str, str] | None = None, required: tuple[str, ...] = ()) -> None:
    """One flag per field of a config dataclass (except `skip`), default and help from the field itself.

    bool fields become switches, tuple[int, ...] fields take several values, Literal fields their choices,
    `X | None` fields default to None; config_from_args reads them back by field name.
    """
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    rename = rename or {}
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        kind = hints[field.name]
        options: dict = {"dest": field.name, "help": helps.get(field.name, "").replace("%", "%%")}
        if field.name in required:
            options["required"] = True
        elif field.default is not dataclasses.MISSING:
            options["default"] = list(field.default) if isinstance(field.default, tuple) else field.default
        args = typing.get_args(kind)
        if kind is bool:
            options["action"] = "store_true"
        elif typing.get_origin(kind) is typing.Literal:
            options["choices"] = args
        elif typing.get_origin(kind) is tuple:
            options.update(type=args[0], nargs="+")
        else:
            options["type"] = next((a for a in args if a is not type(None)), kind) if args else kind
        p.add_argument(rename.get(field.name, flag(field.name)), **options)


def config_from_args(cls: type, args: argparse.Namespace, **given):
    """The config dataclass from the flags add_config_options added (plus `given` values); its own checks run."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    try:
        validation.shared_fields({**values, **given}, flag)
        return cls(**{**values, **given})
    except ValueError as err:
        raise BadInput(named_as_flag(str(err), cls)) from err


def named_as_flag(message: str, cls: type) -> str:
    """A config's message that starts with a field name ("lr must be ...") as the flag says it ("--lr ...")."""
    first = message.split(" ", 1)[0]
    if first in {f.name for f in dataclasses.fields(cls)}:
        return flag(first) + message[len(first):]
    return message
