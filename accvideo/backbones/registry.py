"""Which backbone runs a folder, and the model folder read once.

- a folder with accvideo.json: its `backbone` field (the miniature when absent); a distilled student of a
  diffusers backbone keeps its transformer in `transformer/` and names the teacher's pipeline folder;
- a diffusers pipeline folder (model_index.json): its `_class_name` picks the backbone.

Adding a backbone is one module implementing `base.Backbone` (with the class methods below) and one line in
BACKBONES (and in PIPELINES when a diffusers pipeline class names it).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from accvideo.backbones.base import Backbone, LoadOptions
from accvideo.backbones.pipeline_folder import read_model_index
from accvideo.settings import SETTINGS_FILE, SamplingSettings

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
FEW_STEP_STUDENTS = ("student-m3", "student-m2", "student-m1")  # shipped students for fewer steps than 5
SHIPPED = {"teacher": ASSETS / "teacher", "student": ASSETS / "student",
           **{name: ASSETS / name for name in FEW_STEP_STUDENTS}}


def shipped_few_step_students() -> list[str]:
    """The names of the shipped students for fewer steps (student-m3, ...) whose folders are there."""
    return [name for name in FEW_STEP_STUDENTS if (SHIPPED[name] / SETTINGS_FILE).is_file()]


def shipped_student_for(steps: int) -> tuple[str, str | None]:
    """The shipped student to run at `steps`: the one distilled for that many, else the one distilled for the
    nearest count (the larger on a tie), with a note saying it runs off its grid."""
    by_m = {SamplingSettings.load(SHIPPED[name]).steps: name for name in ("student", *shipped_few_step_students())
            if (SHIPPED[name] / SETTINGS_FILE).is_file()}
    if not by_m or steps in by_m:
        return by_m.get(steps, "student"), None
    m = min(by_m, key=lambda k: (abs(k - steps), -k))
    return by_m[m], (f"no student distilled for {steps} steps ships: {by_m[m]} (distilled for {m}) runs off its "
                     f"grid at {steps}")


# backbone name -> "module:class"; imported only when used
BACKBONES = {
    "miniature": "accvideo.backbones.miniature:MiniatureBackbone",
    "wan-t2v": "accvideo.backbones.wan_t2v:WanT2VBackbone",
    "wan-i2v": "accvideo.backbones.wan_i2v:WanI2VBackbone",
    "hunyuan-t2v": "accvideo.backbones.hunyuan:HunyuanT2VBackbone",
}
# diffusers pipeline class (model_index.json's _class_name) -> backbone name
PIPELINES = {"WanPipeline": "wan-t2v", "WanImageToVideoPipeline": "wan-i2v", "HunyuanVideoPipeline": "hunyuan-t2v"}


def backbone_class(name: str) -> type:
    """The class implementing a named backbone."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {sorted(BACKBONES)}")
    module, cls = BACKBONES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def from_parts(transformer, vae=None, text_encoder=None, device: str = "cpu",
               settings: SamplingSettings | None = None) -> Backbone:
    """The miniature backbone around parts already in memory (a transformer, e.g. EMA weights in training, and the
    VAE and text encoder, each may be None until needed): the one backbone built from parts, not from a folder."""
    return backbone_class("miniature")(transformer, vae, text_encoder, device, settings)


def resolve_model(name_or_path: str | Path) -> Path:
    """'teacher' / 'student' -> the shipped folders; anything else is a folder path. Raises with a clear message.

    A folder is a model folder (accvideo.json), a diffusers pipeline folder (model_index.json), or a
    distillation run (its exported student in final/).
    """
    if str(name_or_path) in SHIPPED:
        folder = SHIPPED[str(name_or_path)]
        if not (folder / SETTINGS_FILE).is_file():
            raise FileNotFoundError(f"the shipped {name_or_path} is not in {folder}"
                                    + (": it ships with the distillation stage" if name_or_path == "student" else ""))
        return folder
    folder = Path(name_or_path)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder not found: {folder}")
    if not (folder / SETTINGS_FILE).is_file() and (folder / "final" / SETTINGS_FILE).is_file():
        folder = folder / "final"  # a distillation run: its exported student
    if not (folder / SETTINGS_FILE).is_file() and not (folder / "model_index.json").is_file():
        raise FileNotFoundError(f"{folder} is not an accvideo model folder (no {SETTINGS_FILE}) "
                                "nor a diffusers pipeline folder (no model_index.json)")
    return folder


def backbone_name(folder: Path) -> str:
    """The backbone that runs a model folder; ValueError for a pipeline class we do not support."""
    folder = Path(folder)
    if (folder / SETTINGS_FILE).is_file():
        return SamplingSettings.load(folder).backbone
    return pipeline_backbone(folder)


def pipeline_backbone(folder: Path) -> str:
    """The backbone of a diffusers pipeline folder, from model_index.json's _class_name."""
    index = read_model_index(folder)
    if index is None:
        raise ValueError(f"{folder} has neither {SETTINGS_FILE} nor model_index.json")
    cls = index.get("_class_name")
    if cls not in PIPELINES:
        raise ValueError(f"{folder}: pipeline {cls} is not supported; supported: {sorted(PIPELINES)}")
    return PIPELINES[cls]


@dataclass(frozen=True)
class ModelFolder:
    """A model folder read once: where it is, how it samples, which backbone class runs it; passed down, not re-read.

    Configs only: no weights are read until `load`.
    """

    path: Path  # the folder itself (a run's final/ when a distillation run was named)
    given: str  # as the user named it ('teacher', 'student' or a path)
    settings: SamplingSettings  # its accvideo.json, or its backbone's defaults for a bare pipeline folder
    backbone: type = field(repr=False)  # the backbone class (accvideo.backbones.base.Backbone)

    @classmethod
    def open(cls, name_or_path: str | Path) -> ModelFolder:
        """Resolve and read a folder; FileNotFoundError / ValueError (one line) when it is missing or foreign."""
        path = resolve_model(name_or_path)
        if (path / SETTINGS_FILE).is_file():
            settings = SamplingSettings.load(path)
            return cls(path, str(name_or_path), settings, backbone_class(settings.backbone))
        backbone = backbone_class(pipeline_backbone(path))
        return cls(path, str(name_or_path), backbone.defaults(path), backbone)

    @property
    def name(self) -> str:
        """The backbone's registry name (for records and messages; code asks the backbone, not the name)."""
        return self.backbone.name

    @property
    def tasks(self) -> tuple[str, ...]:
        """'t2v' and/or 'i2v'."""
        return self.backbone.tasks

    @property
    def transformer_dir(self) -> Path:
        """The folder of the transformer's weights (its identity, e.g. for SynVid's teacher hash); a LoRA
        student's is its base teacher's, the adapters in `lora_file` go on top."""
        if self.settings.base:
            return ModelFolder.open(self.path / self.settings.base).transformer_dir
        return self.backbone.transformer_dir(self)

    @property
    def lora_file(self) -> Path | None:
        """A LoRA student's adapter file (diffusers format), fused into the transformer at load; else None."""
        return self.path / self.settings.lora if self.settings.lora else None

    @property
    def pipeline_dir(self) -> Path:
        """The diffusers pipeline folder that holds the text encoders and VAE (the folder itself for a pipeline)."""
        return (self.path / self.settings.pipeline).resolve() if self.settings.pipeline else self.path

    @property
    def vae_dir(self) -> Path:
        """The VAE folder named by the settings."""
        return (self.path / self.settings.vae).resolve()

    def transformer_config(self) -> dict:
        """The transformer's config.json."""
        path = self.transformer_dir / "config.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable transformer config ({err})") from err

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """ValueError unless the clip size suits the backbone (configs only, no weights)."""
        self.backbone.check_folder_geometry(self, height, width, frames)

    def check_tasks(self, has_image: list[bool]) -> None:
        """ValueError when the backbone cannot take these jobs (a first frame for T2V-only, none for I2V-only)."""
        if any(has_image) and "i2v" not in self.tasks:
            raise ValueError(f"{self.name} is text-to-video only: it takes no first frame (--image)")
        if not all(has_image) and "t2v" not in self.tasks:
            raise ValueError(f"{self.name} is image-to-video only: every clip needs a first frame (--image)")

    def load(self, device: str = "cpu", options: LoadOptions | None = None, text_encoder=None, vae=None,
             load_parts: bool = True) -> Backbone:
        """The loaded backbone. Text encoder and VAE may be shared in (where the backbone shares parts);
        `load_parts=False` loads the transformer alone (distillation). A LoRA student's adapters are fused in."""
        backbone = self.backbone.load(self, device, options, text_encoder, vae, load_parts)
        if self.lora_file is not None:
            from accvideo.models.lora import apply_lora

            if not self.lora_file.is_file():
                raise FileNotFoundError(f"{self.path}: the LoRA file {self.settings.lora} that accvideo.json names "
                                        "is missing")
            apply_lora(backbone.transformer, self.lora_file)
        return backbone
