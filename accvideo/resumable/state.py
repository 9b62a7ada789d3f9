"""Training state on disk: atomic safetensors + JSON checkpoints that resume bit-exactly, and an append-only loss log."""

from __future__ import annotations

import csv
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_FORMAT = "accvideo-checkpoint-1"  # safetensors for tensors, JSON for the rest; no pickle
CHECKPOINT = "checkpoint.json"  # a run folder's checkpoint (the tensors sit beside it)


def check_choices(cfg) -> None:
    """ValueError (one line, naming the field) unless every Literal-typed field of a config holds one of its values."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(type(cfg))
    for field in dataclasses.fields(cfg):
        kind = hints[field.name]
        if typing.get_origin(kind) is typing.Literal and getattr(cfg, field.name) not in typing.get_args(kind):
            choices = " or ".join(map(str, typing.get_args(kind)))
            raise ValueError(f"{field.name} must be {choices}, got {getattr(cfg, field.name)!r}")


def check_config(cfg, at_least_one: tuple[str, ...], positive: tuple[str, ...], fractions: tuple[str, ...] = ()) -> None:
    """ValueError (one line, naming the field) unless counts are >= 1, rates finite and > 0, fractions in [0, 1],
    and choices (Literal fields) one of theirs."""
    import math

    check_choices(cfg)

    for name in at_least_one:
        if getattr(cfg, name) is not None and getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    for name in positive:
        value = getattr(cfg, name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    for name in fractions:
        if not 0 <= getattr(cfg, name) <= 1:
            raise ValueError(f"{name} must be from 0 to 1, got {getattr(cfg, name)}")


def rng_state() -> dict[str, Any]:
    """Every global random state a training loop may touch."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state() captured."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _flatten(obj: Any, tensors: dict[str, torch.Tensor], key: str) -> Any:
    """A JSON tree of obj with every tensor (and numpy array) moved into `tensors` under a path-like key."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        wide = obj.astype(np.int64) if obj.dtype.kind == "u" else obj  # safetensors has no unsigned wide ints
        tensors[key] = torch.from_numpy(np.ascontiguousarray(wide))
        return {"__ndarray__": key, "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: _flatten(v, tensors, f"{key}.{k}") for k, v in obj.items()}}
        return {"__items__": [[k, _flatten(v, tensors, f"{key}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_flatten(v, tensors, f"{key}.{i}") for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (at {key})")


def _unflatten(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of _flatten."""
    if isinstance(tree, list):
        return [_unflatten(v, tensors) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__tensor__" in tree:
        return tensors[tree["__tensor__"]]
    if "__ndarray__" in tree:
        return tensors[tree["__ndarray__"]].numpy().astype(tree["dtype"])
    if "__tuple__" in tree:
        return tuple(_unflatten(v, tensors) for v in tree["__tuple__"])
    if "__items__" in tree:
        return {k: _unflatten(v, tensors) for k, v in tree["__items__"]}
    return {k: _unflatten(v, tensors) for k, v in tree["__dict__"].items()}


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint as safetensors + JSON (no pickle), so that a kill at any moment leaves a whole one.

    `path` is the JSON file (e.g. run/checkpoint.json). The tensors go first to a new file
    `<stem>-<generation>.safetensors`, then the JSON that names it replaces the old one, then the older
    tensor file is removed: the JSON always points at a complete tensor file.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.is_file() else None
    generation = (old["generation"] + 1) if old else 1
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(payload, tensors, "p")
    name = f"{path.stem}-{generation:06d}.safetensors"
    _atomic_write(path.parent / name, lambda tmp: save_file(tensors, str(tmp)))
    record = {"format": CHECKPOINT_FORMAT, "generation": generation, "tensors": name, "tree": tree}
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(record)))
    if old and old["tensors"] != name:
        (path.parent / old["tensors"]).unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint; ValueError (one line) when it is not one or is damaged."""
    from safetensors.torch import load_file

    path = Path(path)
    legacy = path.with_suffix(".pt")
    if not path.is_file() and legacy.is_file():
        raise ValueError(f"{legacy} is a checkpoint of an older version (a pickle, which is never loaded: it could run "
                         f"code); start the run again, or export its weights with that older version")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        record = json.loads(path.read_text())
        if record.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"format {record.get('format')!r}, expected {CHECKPOINT_FORMAT!r}")
        tensors = load_file(str(path.parent / record["tensors"]))
        return _unflatten(record["tree"], tensors)
    except Exception as err:  # JSON, safetensors and key errors all mean the same thing to the user
        raise ValueError(f"{path}: not a readable checkpoint ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from err


class LossLog:
    """A CSV loss log; on resume, rows past the checkpoint's step are dropped so no step appears twice."""

    def __init__(self, path: Path, fields: list[str], resume_step: int | None = None):
        self.path = path
        self.fields = ["step", *fields]
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and path.exists():
            with path.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
            self._rewrite(rows)
        else:
            self._rewrite([])

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, self.fields)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def append(self, step: int, **values: float) -> None:
        """Add one row."""
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.fields).writerow({"step": step, **{k: f"{v:.6g}" for k, v in values.items()}})


def cosine_lr(step: int, base_lr: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warm-up, then cosine decay to floor * base_lr at `total`."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base_lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * progress)))


def wsd_lr(step: int, base_lr: float, warmup: int, total: int, decay: int, floor: float = 0.1) -> float:
    """Warm-up, stable, decay: linear warm-up, base_lr until total - decay, then cosine to floor * base_lr.

    A run of unknown length keeps its peak rate; the tail is only fixed once `total` is.
    """
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = min(1.0, max(0.0, (step - (total - decay)) / max(1, decay)))
    return base_lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * progress)))


def open_run(out: Path, config: dict, resume: bool, objects: dict[str, Any]) -> tuple[int, float, dict]:
    """Start a run in `out`, or resume it: restores each named object's state and the RNGs.

    Returns (step, elapsed seconds, the checkpoint's extra numbers such as cpu_seconds) to continue from.
    A run folder with a checkpoint is never overwritten without `resume`.
    """
    ckpt = out / CHECKPOINT
    start, elapsed, extra = 0, 0.0, {}
    if resume:
        state = load_checkpoint(ckpt)
        for name, obj in objects.items():
            obj.load_state_dict(state[name])
        set_rng_state(state["rng"])
        start, elapsed = state["step"], state["elapsed"]
        extra = {k: v for k, v in state.items() if k not in objects and k not in ("rng", "step", "elapsed")}
    elif ckpt.exists():
        raise FileExistsError(f"{ckpt} exists: pass --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(config, indent=2))
    with (out / "config_history.jsonl").open("a") as f:  # what each stretch of a resumed run really used
        f.write(json.dumps({"from_step": start, "config": config}) + "\n")
    return start, elapsed, extra


def write_run_checkpoint(out: Path, objects: dict[str, Any], step: int, elapsed: float, **extra) -> None:
    """Checkpoint every named object with the RNGs, the step reached, the seconds spent and any extra numbers."""
    payload = {name: obj.state_dict() for name, obj in objects.items()}
    save_checkpoint(out / CHECKPOINT, {**payload, "rng": rng_state(), "step": step, "elapsed": elapsed, **extra})


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (a data file's identity)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()
