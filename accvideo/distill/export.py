"""The distilled student on disk: a stock WanTransformer3DModel folder plus accvideo.json naming its sigmas."""

from __future__ import annotations

import copy
import json
from pathlib import Path


def export_student(transformer, folder: Path, teacher_dir: Path, sigmas: list[float], info: dict) -> Path:
    """Save the student; its accvideo.json says: these m + 1 sigmas, guidance 1 (no CFG), the teacher's VAE."""
    from accvideo.pipeline import SamplingSettings, relative_vae

    teacher = SamplingSettings.load(teacher_dir)
    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(folder)
    vae = relative_vae(folder, (teacher_dir / teacher.vae).resolve())
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
    return VideoGenerator(copy.deepcopy(transformer), vae, None, settings)  # a copy: the trainee keeps its mode
