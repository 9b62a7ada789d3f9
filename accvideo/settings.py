"""Sampling settings of a model folder (accvideo.json): steps, shift, guidance, sigmas, and where its parts live."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from accvideo import validation
from accvideo.schedules import TEACHER_STEPS, flow_sigmas

SETTINGS_FILE = "accvideo.json"
DEFAULT_BACKBONE = "miniature"  # the backbone of a folder (or a SynVid) whose settings name none


def relative_path(folder: Path, target: Path) -> str:
    """`target` as seen from a model folder (accvideo.json's `vae` and `pipeline`), so the two can move together."""
    return os.path.relpath(Path(target).resolve(), Path(folder).resolve())


@dataclass
class SamplingSettings:
    """How a model folder samples by default (stored as accvideo.json beside the weights)."""

    kind: str = "teacher"  # teacher or student
    steps: int = TEACHER_STEPS  # default number of Euler steps
    shift: float = 7.0  # flow shift of the sigma grid
    guidance: float = 5.0  # CFG scale; 1.0 = no CFG (one evaluation per step)
    sigmas: list[float] | None = None  # explicit sigma list (a student's key timesteps); overrides steps/shift
    vae: str = "../vae"  # VAE folder, relative to the model folder
    text_encoder: str = "minilm"  # text encoder name
    height: int = 64  # default clip size
    width: int = 64
    frames: int = 17
    backbone: str = DEFAULT_BACKBONE  # which backbone runs the folder (accvideo.backbones.registry)
    pipeline: str | None = None  # diffusers backbones: the pipeline folder (relative) with text encoders and VAE
    embedded_guidance: float | None = None  # HunyuanVideo: the guidance-embedding scale (its CFG is distilled in)
    lora: str | None = None  # a LoRA student: its adapter file (diffusers format) in this folder
    base: str | None = None  # a LoRA student: the teacher folder (relative) whose transformer the adapters go on

    def sigma_grid(self, steps: int | None = None) -> torch.Tensor:
        """The sigma list for a run: the explicit one when it matches, else the shifted grid."""
        if self.sigmas is not None and steps in (None, len(self.sigmas) - 1):
            return torch.tensor(self.sigmas, dtype=torch.float64)
        return flow_sigmas(steps or self.steps, self.shift)

    def clip_size(self, height: int | None = None, width: int | None = None,
                  frames: int | None = None) -> tuple[int, int, int]:
        """(height, width, frames) asked for, the settings' own where not given (0 is an answer, not a default)."""
        return (self.height if height is None else height, self.width if width is None else width,
                self.frames if frames is None else frames)

    def for_student(self, sigmas: list[float], **where) -> SamplingSettings:
        """A distilled student's settings from its teacher's: its m + 1 sigmas and no CFG; `where` says where
        its parts live relative to its own folder (vae, pipeline; lora and base for adapters)."""
        where = {"lora": None, "base": None, **where}  # a full student unless `where` names adapters
        return replace(self, kind="student", steps=len(sigmas) - 1, guidance=1.0, sigmas=[float(s) for s in sigmas],
                       **where)

    @classmethod
    def load(cls, folder: Path) -> SamplingSettings:
        """Read accvideo.json from a model folder; ValueError naming the file and field when it is not valid."""
        from dataclasses import fields

        path = Path(folder) / SETTINGS_FILE
        data = validation.json_object(path)
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        check_fields(data, str(path))
        if data.get("base"):
            check_base_chain(Path(folder))
        return cls(**data)

    def save(self, folder: Path) -> None:
        """Write accvideo.json into a model folder."""
        (folder / SETTINGS_FILE).write_text(json.dumps(self.__dict__, indent=2) + "\n")


def check_fields(data: dict, where: str) -> None:
    """accvideo.json's values, each of its type and range (accvideo.validation), before any is used."""
    name = lambda key: f"{where}: {key}"  # noqa: E731
    if "kind" in data and data["kind"] not in ("teacher", "student"):
        raise validation.InvalidInput(f"{name('kind')} must be 'teacher' or 'student', got {data['kind']!r}")
    if "steps" in data:
        validation.steps(name("steps"), data["steps"])
    if "shift" in data:
        validation.number(name("shift"), data["shift"], above=0.0)
    for key in ("guidance", "embedded_guidance"):
        if data.get(key) is not None:
            validation.guidance(name(key), data[key])
    for key in ("height", "width", "frames"):
        if key in data:
            validation.whole(name(key), data[key], low=1)
    for key in ("vae", "text_encoder", "backbone", "pipeline", "lora", "base"):
        if data.get(key) is not None:
            validation.text(name(key), data[key])
    if data.get("sigmas") is not None:
        if not isinstance(data["sigmas"], list) or len(data["sigmas"]) < 2:
            raise validation.InvalidInput(f"{name('sigmas')} must be a list of at least two numbers")
        for sigma in data["sigmas"]:
            validation.number(name("sigmas"), sigma, 0.0, 1.0)


def check_base_chain(folder: Path) -> None:
    """A LoRA student's `base` leads to a teacher, never back to a folder already on the way (a cycle)."""
    seen, current = {folder.resolve()}, folder
    while True:
        try:
            base = json.loads((current / SETTINGS_FILE).read_text()).get("base")
        except (OSError, ValueError, AttributeError):  # the next folder's own load reports it
            return
        if not base:
            return
        current = (current / str(base)).resolve()
        if current in seen:
            raise validation.InvalidInput(f"{folder / SETTINGS_FILE}: 'base' leads back to {current}: a LoRA "
                                          "student's base must be its teacher's folder")
        seen.add(current)
