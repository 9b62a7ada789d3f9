"""A diffusers pipeline folder on disk: its model_index.json and scheduler shift, and what makes a distilled
student's folder one too (links to the teacher pipeline's parts, a scheduler whose own grid is the student's)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from accvideo.settings import relative_path


def student_scheduler(sigmas: list[float], train_timesteps: int = 1000):
    """A stock FlowMatchEulerDiscreteScheduler whose own m-step grid is the student's m + 1 sigmas, or None.

    A pipeline that calls `scheduler.set_timesteps(m)` (WanPipeline) samples linspace(1, sigma_min, m) shifted
    twice, not a student's key timesteps shift_S(1 - j / m). Two config fields make it exact: a shift s for which
    the grid's (1 - sigma) runs in proportion to the target's, and `shift_terminal` (the last nonzero sigma),
    which stretches it onto the target. The grid is checked; a list that no config reproduces gives None.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    m = len(sigmas) - 1
    config = {"shift": 1.0}
    if m >= 2:
        x, t = 1 - 1 / m, sigmas[1]
        target_shift = t * (1 - x) / (x * (1 - t))  # S of sigmas = shift_S(1 - j / m), read off the second point
        s = target_shift
        for _ in range(100):  # fixed point: the scheduler's sigma_min depends on its shift
            sigma_min = s / train_timesteps / (1 + (s - 1) / train_timesteps)
            c = target_shift * m * (1 - sigma_min) / (m - 1)
            s = c / (c - target_shift + 1)
        config = {"shift": s, "shift_terminal": sigmas[-2]}
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=train_timesteps, **config)
    scheduler.set_timesteps(m)
    grid = scheduler.sigmas.double()
    exact = len(grid) == len(sigmas) and bool((grid - torch.tensor(sigmas, dtype=torch.float64)).abs().max() < 1e-6)
    return scheduler if exact else None


def link_pipeline_parts(folder: Path, pipe_dir: Path, scheduler=None) -> None:
    """Make a student's folder a stock pipeline folder: link the teacher pipeline's parts other than the
    transformer (and the scheduler, when the student has its own) and copy model_index.json, naming the
    student's scheduler class. Where symlinks are not allowed, the accvideo.json pointer still finds them."""
    import shutil

    index = json.loads((pipe_dir / "model_index.json").read_text())
    own = {"transformer"} | ({"scheduler"} if scheduler is not None else set())
    for part in index:
        if part.startswith("_") or part in own or not (pipe_dir / part).is_dir():
            continue
        link = folder / part
        if not link.exists():
            try:
                link.symlink_to(relative_path(folder, pipe_dir / part), target_is_directory=True)
            except OSError:
                return
    if scheduler is not None:
        index["scheduler"] = ["diffusers", type(scheduler).__name__]
        (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    else:
        shutil.copyfile(pipe_dir / "model_index.json", folder / "model_index.json")


def read_model_index(folder: Path) -> dict | None:
    """A diffusers pipeline folder's model_index.json, or None."""
    path = Path(folder) / "model_index.json"
    return json.loads(path.read_text()) if path.is_file() else None


def scheduler_shift(folder: Path, default: float) -> float:
    """The flow shift named by a pipeline folder's scheduler config (shift or flow_shift), else `default`."""
    path = Path(folder) / "scheduler" / "scheduler_config.json"
    if not path.is_file():
        return default
    cfg = json.loads(path.read_text())
    return float(cfg.get("flow_shift") or cfg.get("shift") or default)
