"""Weight averaging ("model soup") of teacher folders trained from one trunk.

Branches of one run (different tails off the same constant-lr line) stay in one basin, so the mean of their EMA
weights is a model too, and sometimes a better one than each branch (the teacher card has the miniature's
measurements). Not part of the paper's method.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from diffusers.utils.constants import CONFIG_NAME as CONFIG
from diffusers.utils.constants import SAFETENSORS_WEIGHTS_NAME as WEIGHTS


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_sources(folders: list[Path]) -> None:
    """ValueError unless there are two or more diffusers transformer folders with one config."""
    if len(folders) < 2:
        raise ValueError(f"averaging needs at least two model folders, got {len(folders)}")
    config = None
    for folder in folders:
        for name in (CONFIG, WEIGHTS):
            if not (folder / name).is_file():
                raise ValueError(f"{folder} has no {name}: not a diffusers transformer folder")
        this = {k: v for k, v in json.loads((folder / CONFIG).read_text()).items() if not k.startswith("_")}
        if config is None:
            config = this
        elif this != config:
            differ = sorted(k for k in set(this) | set(config) if this.get(k) != config.get(k))
            raise ValueError(f"{folder} is a different architecture from {folders[0]} ({', '.join(differ)})")


def average_weights(folders: list[str | Path], out: str | Path) -> Path:
    """Write the element-wise mean of the folders' transformer weights to out, a new folder.

    The mean is taken in float64 and stored in the sources' dtype. config.json and accvideo.json come from the
    first folder (its sampling settings, with the VAE and pipeline paths rewritten for out); training.json names
    every source and its weights' sha256, so the result can be checked against them.
    """
    import torch
    from safetensors.torch import load_file, save_file

    from accvideo.settings import SETTINGS_FILE, SamplingSettings, relative_path

    folders = [Path(f) for f in folders]
    _check_sources(folders)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty; give a new folder")
    states = [load_file(folder / WEIGHTS) for folder in folders]
    keys = set(states[0])
    for folder, state in zip(folders[1:], states[1:]):
        if set(state) != keys:
            raise ValueError(f"{folder} holds other tensors than {folders[0]}")
    mean = {k: (sum(s[k].to(torch.float64) for s in states) / len(states)).to(states[0][k].dtype) for k in keys}
    out.mkdir(parents=True, exist_ok=True)
    save_file(mean, out / WEIGHTS)
    shutil.copyfile(folders[0] / CONFIG, out / CONFIG)
    if (folders[0] / SETTINGS_FILE).is_file():
        settings = SamplingSettings.load(folders[0])
        for part in ("vae", "pipeline"):  # paths relative to the model folder
            if getattr(settings, part):
                setattr(settings, part, relative_path(out, folders[0] / getattr(settings, part)))
        settings.save(out)
    sources = [{"folder": str(f), "sha256": _sha256(f / WEIGHTS)} for f in folders]
    (out / "training.json").write_text(json.dumps({"average_of": sources}, indent=2))
    return out
