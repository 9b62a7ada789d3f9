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


def export_checkpoint(run: Path, folder: Path | None = None) -> Path:
    """Export the student of a run's latest checkpoint (EMA weights when the run keeps an EMA), mid-run or not.

    Writes to `folder` (default: run/checkpoint-student); the run itself is left untouched and can resume.
    """
    from diffusers import WanTransformer3DModel

    from accvideo.distill.data import key_sigmas
    from accvideo.pipeline import resolve_model
    from accvideo.training.state import load_checkpoint

    run = Path(run)
    config_file = run / "distill_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run} is not a distillation run (no distill_config.json)")
    config = json.loads(config_file.read_text())
    state = load_checkpoint(run / "checkpoint-rank0.pt")
    teacher_dir = resolve_model(config["teacher"])
    student = WanTransformer3DModel.from_pretrained(teacher_dir)
    student.load_state_dict(state["ema"] or state["student"])
    sigmas = state.get("sigmas") or key_sigmas(config)
    info = {"iterations": state["iter"], "distill_seconds": state["elapsed"], "config": config,
            "data": config["data"], "from_checkpoint": str(run / "checkpoint-rank0.pt")}
    return export_student(student, Path(folder) if folder else run / "checkpoint-student", teacher_dir, sigmas, info)
