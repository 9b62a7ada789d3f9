"""Which backbone runs a folder, and loading it.

- a folder with accvideo.json: its `backbone` field (the miniature when absent); a distilled student of a
  diffusers backbone keeps its transformer in `transformer/` and names the teacher's pipeline folder;
- a diffusers pipeline folder (model_index.json): its `_class_name` picks the backbone.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from accvideo.backbones.base import LoadOptions, read_model_index
from accvideo.settings import SETTINGS_FILE, SamplingSettings

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


def backbone_name(folder: Path) -> str:
    """The backbone that runs a model folder; ValueError for a pipeline class we do not support."""
    folder = Path(folder)
    if (folder / SETTINGS_FILE).is_file():
        return SamplingSettings.load(folder).backbone
    index = read_model_index(folder)
    if index is None:
        raise ValueError(f"{folder} has neither {SETTINGS_FILE} nor model_index.json")
    cls = index.get("_class_name")
    if cls not in PIPELINES:
        raise ValueError(f"{folder}: pipeline {cls} is not supported; supported: {sorted(PIPELINES)}")
    return PIPELINES[cls]


def pipeline_folder(folder: Path, settings: SamplingSettings) -> Path:
    """The diffusers pipeline folder that holds a model's text encoders and VAE."""
    return (Path(folder) / settings.pipeline).resolve() if settings.pipeline else Path(folder)


def load_settings(folder: Path) -> SamplingSettings:
    """A folder's sampling settings: its accvideo.json, else its backbone's defaults (no weights are read)."""
    folder = Path(folder)
    if (folder / SETTINGS_FILE).is_file():
        return SamplingSettings.load(folder)
    return backbone_class(backbone_name(folder)).defaults(folder)


def transformer_dir(folder: Path) -> Path:
    """The folder of a model's transformer weights (its identity, e.g. for SynVid's teacher hash)."""
    folder = Path(folder)
    return folder if backbone_name(folder) == "miniature" else folder / "transformer"


def check_geometry(folder: Path, height: int, width: int, frames: int) -> None:
    """Raise ValueError unless the clip size suits the folder's backbone; reads configs only, no weights."""
    folder = Path(folder)
    name = backbone_name(folder)
    if name == "miniature":
        from accvideo.shapes.spec import check_geometry as check_shapes

        return check_shapes(height, width, frames)
    cls = backbone_class(name)
    vae_config = cls.vae_config_of(pipeline_folder(folder, load_settings(folder)))
    transformer_config = json.loads((transformer_dir(folder) / "config.json").read_text())
    cls.check_sizes(vae_config, transformer_config, height, width, frames)


def check_tasks(name: str, has_image: list[bool]) -> None:
    """Raise ValueError when a backbone cannot take these jobs (a first frame for T2V-only, none for I2V-only)."""
    tasks = backbone_class(name).tasks
    if any(has_image) and "i2v" not in tasks:
        raise ValueError(f"{name} is text-to-video only: it takes no first frame (--image)")
    if not all(has_image) and "t2v" not in tasks:
        raise ValueError(f"{name} is image-to-video only: every clip needs a first frame (--image)")


def load_backbone(folder: Path, device: str = "cpu", options: LoadOptions | None = None, text_encoder=None,
                  vae=None, load_parts: bool = True):
    """The backbone of a model folder, with its settings: (backbone, SamplingSettings).

    Text encoder and VAE may be shared in (miniature); `load_parts=False` loads the transformer alone
    (distillation). Diffusers backbones always load their other parts lazily.
    """
    folder = Path(folder)
    name = backbone_name(folder)
    settings = load_settings(folder)
    cls = backbone_class(name)
    if name == "miniature":
        return cls.from_folder(folder, device, options, text_encoder, vae, load_parts), settings
    backbone = cls(pipeline_folder(folder, settings), transformer_dir(folder), options, device)
    if settings.embedded_guidance is not None:
        backbone.embedded_guidance = settings.embedded_guidance
    return backbone, settings
