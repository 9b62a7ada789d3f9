"""The distilled student on disk: a stock WanTransformer3DModel folder plus accvideo.json naming its sigmas."""

from __future__ import annotations

import json
import os
from pathlib import Path


def export_student(transformer, folder: Path, teacher_dir: Path, sigmas: list[float], info: dict) -> Path:
    """Save the student; its accvideo.json says: these m + 1 sigmas, guidance 1 (no CFG), the teacher's VAE."""
    from accvideo.pipeline import SamplingSettings

    teacher = SamplingSettings.load(teacher_dir)
    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(folder)
    vae = os.path.relpath((teacher_dir / teacher.vae).resolve(), folder.resolve())
    SamplingSettings(kind="student", steps=len(sigmas) - 1, shift=teacher.shift, guidance=1.0,
                     sigmas=[float(s) for s in sigmas], vae=vae, text_encoder=teacher.text_encoder,
                     height=teacher.height, width=teacher.width, frames=teacher.frames).save(folder)
    (folder / "training.json").write_text(json.dumps(info, indent=2, default=str))
    return folder


def student_generator(transformer, teacher_dir: Path, sigmas: list[float]):
    """A VideoGenerator around an in-memory student (for sample clips during training)."""
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.pipeline import SamplingSettings, VideoGenerator

    teacher = SamplingSettings.load(teacher_dir)
    settings = SamplingSettings(kind="student", steps=len(sigmas) - 1, guidance=1.0, sigmas=sigmas, vae=teacher.vae)
    vae = ShapesAutoencoder.from_pretrained((teacher_dir / teacher.vae).resolve())
    gen = VideoGenerator(copy_for_eval(transformer), vae, None, settings)
    return gen


def copy_for_eval(transformer):
    """An eval-mode copy, so sampling never flips the training model's mode."""
    import copy

    return copy.deepcopy(transformer).eval()
