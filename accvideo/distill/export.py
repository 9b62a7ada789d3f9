"""The distilled student on disk: a stock diffusers transformer folder plus accvideo.json naming its sigmas.

The miniature's student is a WanTransformer3DModel folder beside its teacher's VAE. A diffusers
backbone's student keeps its transformer in `transformer/`, points at the teacher's pipeline folder for
everything else, and links the teacher's other components beside it, so that the stock pipeline class
(`WanPipeline.from_pretrained(folder)`, ...) loads it too.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path


def export_student(transformer, folder: Path, teacher_dir: Path, sigmas: list[float], info: dict) -> Path:
    """Save the student; its accvideo.json says: these m + 1 sigmas, guidance 1 (no CFG), the teacher's VAE."""
    from accvideo.backbones.registry import backbone_name, load_settings
    from accvideo.pipeline import SamplingSettings, relative_vae

    teacher = load_settings(teacher_dir)
    name = backbone_name(teacher_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if name != "miniature":
        return _export_diffusers_student(transformer, folder, teacher_dir, teacher, name, sigmas, info)
    transformer.save_pretrained(folder)
    vae = relative_vae(folder, (teacher_dir / teacher.vae).resolve())
    SamplingSettings(kind="student", steps=len(sigmas) - 1, shift=teacher.shift, guidance=1.0,
                     sigmas=[float(s) for s in sigmas], vae=vae, text_encoder=teacher.text_encoder,
                     height=teacher.height, width=teacher.width, frames=teacher.frames).save(folder)
    (folder / "training.json").write_text(json.dumps(info, indent=2, default=str))
    return folder


def _export_diffusers_student(transformer, folder: Path, teacher_dir: Path, teacher, name: str,
                              sigmas: list[float], info: dict) -> Path:
    """transformer/ + accvideo.json (backbone, pipeline pointer, sigmas, no CFG) + links to the other parts."""
    from dataclasses import replace

    from accvideo.backbones.registry import pipeline_folder

    pipe_dir = pipeline_folder(teacher_dir, teacher)
    transformer.save_pretrained(folder / "transformer")
    settings = replace(teacher, kind="student", steps=len(sigmas) - 1, guidance=1.0, sigmas=[float(s) for s in sigmas],
                       vae=os.path.relpath(pipe_dir / "vae", folder.resolve()), backbone=name,
                       pipeline=os.path.relpath(pipe_dir, folder.resolve()))
    settings.save(folder)
    index = json.loads((pipe_dir / "model_index.json").read_text())
    for part in index:
        if part.startswith("_") or part == "transformer" or not (pipe_dir / part).is_dir():
            continue
        link = folder / part
        if not link.exists():
            try:
                link.symlink_to(os.path.relpath(pipe_dir / part, folder.resolve()), target_is_directory=True)
            except OSError:  # no symlinks here: the accvideo.json pointer still finds them
                break
    else:
        shutil.copyfile(pipe_dir / "model_index.json", folder / "model_index.json")
    (folder / "training.json").write_text(json.dumps(info, indent=2, default=str))
    return folder


def student_generator(transformer, teacher_dir: Path, sigmas: list[float], backbone=None):
    """A VideoGenerator around an in-memory student (for sample clips during training)."""
    from accvideo.pipeline import SamplingSettings, VideoGenerator

    if backbone is not None and backbone.name != "miniature":
        settings = SamplingSettings(kind="student", steps=len(sigmas) - 1, guidance=1.0, sigmas=sigmas,
                                    backbone=backbone.name)
        gen = VideoGenerator.from_backbone(backbone, settings)
        gen.transformer = copy.deepcopy(transformer).eval()  # a copy: the trainee keeps its mode
        return gen
    from accvideo.models.autoencoder import ShapesAutoencoder

    teacher = SamplingSettings.load(teacher_dir)
    settings = SamplingSettings(kind="student", steps=len(sigmas) - 1, guidance=1.0, sigmas=sigmas, vae=teacher.vae)
    vae = ShapesAutoencoder.from_pretrained((teacher_dir / teacher.vae).resolve())
    return VideoGenerator(copy.deepcopy(transformer), vae, None, settings)  # a copy: the trainee keeps its mode


def export_checkpoint(run: Path, folder: Path | None = None) -> Path:
    """Export the student of a run's latest checkpoint (EMA weights when the run keeps an EMA), mid-run or not.

    Writes to `folder` (default: run/checkpoint-student); the run itself is left untouched and can resume.
    """
    import diffusers

    from accvideo.backbones.registry import transformer_dir
    from accvideo.distill.data import key_sigmas
    from accvideo.pipeline import resolve_model
    from accvideo.training.state import load_checkpoint

    run = Path(run)
    config_file = run / "distill_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run} is not a distillation run (no distill_config.json)")
    config = json.loads(config_file.read_text())
    state = load_checkpoint(run / "checkpoint-rank0.json")
    teacher_dir = resolve_model(config["teacher"])
    weights = transformer_dir(teacher_dir)
    cls = getattr(diffusers, json.loads((weights / "config.json").read_text())["_class_name"])
    student = cls.from_pretrained(weights)  # the teacher's architecture, then the checkpoint's weights
    student.load_state_dict(state["ema"] or state["student"])
    sigmas = state.get("sigmas") or key_sigmas(config)
    info = {"iterations": state["iter"], "distill_seconds": state["elapsed"], "config": config,
            "data": config["data"], "from_checkpoint": str(run / "checkpoint-rank0.json")}
    return export_student(student, Path(folder) if folder else run / "checkpoint-student", teacher_dir, sigmas, info)
