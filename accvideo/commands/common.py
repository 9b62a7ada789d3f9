"""What every command shares: the one-line error, the checks made before any model loads, memory flags, and
flags built from a stage's config dataclass (its defaults and field comments are the flags' defaults and help).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import os
import re
import sys
import typing
from pathlib import Path

EXIT_BAD_INPUT = 2
MAX_STEPS = 1000  # Euler steps a command accepts (the teacher takes schedules.TEACHER_STEPS)
MAX_SEED = 2**63 - 1  # torch.Generator seeds are 64-bit


class BadInput(Exception):
    """A user error: reported as one line, exit code 2."""


def check_seed(seed: int, what: str) -> None:
    """A seed torch.Generator takes: 0 <= seed <= 2**63 - 1."""
    if not 0 <= seed <= MAX_SEED:
        raise BadInput(f"{what} must be from 0 to {MAX_SEED}, got {seed}")


def check_sampling(steps: int | None, guidance: float | None) -> None:
    """Steps in 1..MAX_STEPS, guidance a finite number >= 0."""
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise BadInput(f"--steps must be from 1 to {MAX_STEPS}, got {steps}")
    if guidance is not None and not (math.isfinite(guidance) and guidance >= 0):
        raise BadInput(f"--guidance must be a finite number >= 0, got {guidance}")


def check_writable(out: Path) -> None:
    """A file path (not a folder) in a writable folder; an existing file is replaced, with a warning."""
    if out.is_dir():
        raise BadInput(f"output {out} is a folder; give a file name such as {out / 'clip.mp4'}")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not os.access(parent, os.W_OK):
        raise BadInput(f"cannot write {out}: the folder {parent} is not writable")
    if out.exists():
        print(f"accvideo: warning: replacing {out}", file=sys.stderr)


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
    """Each field's trailing comment in a config dataclass's source: the one description of that setting."""
    names = {f.name for f in dataclasses.fields(cls)}
    found = {}
    for line in inspect.getsource(cls).splitlines():
        match = re.match(r"\s+(\w+):[^#]*#\s*(.+)$", line)
        if match and match.group(1) in names:
            found[match.group(1)] = match.group(2).strip()
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
        return cls(**{**values, **given})
    except ValueError as err:
        raise BadInput(str(err)) from err
