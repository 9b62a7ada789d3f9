"""Training state on disk: atomic checkpoints that resume bit-exactly, and an append-only loss log."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """Every global random state a training loop may touch."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state() captured."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically: a temporary name, then rename, so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=False)


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


def open_run(out: Path, config: dict, resume: bool, objects: dict[str, Any]) -> tuple[int, float]:
    """Start a run in `out`, or resume it: restores each named object's state and the RNGs.

    Returns (step, elapsed seconds) to continue from. A run folder with a checkpoint is never overwritten
    without `resume`.
    """
    import json

    ckpt = out / "checkpoint.pt"
    start, elapsed = 0, 0.0
    if resume:
        state = load_checkpoint(ckpt)
        for name, obj in objects.items():
            obj.load_state_dict(state[name])
        set_rng_state(state["rng"])
        start, elapsed = state["step"], state["elapsed"]
    elif ckpt.exists():
        raise FileExistsError(f"{ckpt} exists: pass --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(config, indent=2))
    return start, elapsed


def write_run_checkpoint(out: Path, objects: dict[str, Any], step: int, elapsed: float) -> None:
    """Checkpoint every named object with the RNGs, the step reached and the seconds spent."""
    payload = {name: obj.state_dict() for name, obj in objects.items()}
    save_checkpoint(out / "checkpoint.pt", {**payload, "rng": rng_state(), "step": step, "elapsed": elapsed})
