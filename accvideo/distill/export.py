"""The distilled student on disk: a stock diffusers transformer folder plus accvideo.json naming its sigmas.

How a student is laid out is its teacher's backbone's business (Backbone.export_student): the miniature's
is a transformer folder beside its teacher's VAE; a diffusers backbone's keeps its transformer in
`transformer/`, points at the teacher's pipeline folder for everything else and links its components, so
that the stock pipeline class (`WanPipeline.from_pretrained(folder)`, ...) loads it too.
"""

from __future__ import annotations

import json
from pathlib import Path


def export_student(transformer, folder: Path, teacher, sigmas: list[float], info: dict) -> Path:
    """Save the student of a teacher ModelFolder: its m + 1 sigmas, guidance 1 (no CFG), the teacher's VAE."""
    return teacher.backbone.export_student(transformer, Path(folder), teacher, [float(s) for s in sigmas], info)


def gathered_student(acc, student, backbone, lora_rank: int):
    """Under FSDP, the student's full weights gathered from the shards into a plain copy of the teacher (on the
    main process; a collective every rank takes part in); None elsewhere, and without FSDP."""
    from accelerate.utils import DistributedType

    from accvideo.models.lora import new_student

    if acc.distributed_type != DistributedType.FSDP:
        return None
    state = acc.get_state_dict(student)
    if not acc.is_main_process:
        return None
    model = new_student(backbone.transformer, backbone.feature_blocks, lora_rank)
    model.load_state_dict(state)
    return model


def export_checkpoint(run: Path, folder: Path | None = None) -> Path:
    """Export the student of a run's latest checkpoint, mid-run or not (its EMA weights where a checkpoint of an
    earlier version holds them).

    Writes to `folder` (default: run/checkpoint-student); the run itself is left untouched and can resume.
    """
    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.config import DistillConfig
    from accvideo.distill.data import key_sigmas
    from accvideo.models.lora import new_student
    from accvideo.schedules import TEACHER_STEPS
    from accvideo.training.state import load_checkpoint

    run = Path(run)
    config_file = run / "distill_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run} is not a distillation run (no distill_config.json)")
    saved = json.loads(config_file.read_text())  # as written: the student's training.json keeps the whole record
    state = load_checkpoint(run / "checkpoint-rank0.json")
    try:
        config = DistillConfig.from_saved(saved)
    except ValueError as err:
        raise ValueError(f"{config_file}: {err}") from err
    teacher = ModelFolder.open(config.teacher)
    backbone = teacher.load(load_parts=False)
    # the teacher's architecture (with the run's adapters, if any), then the checkpoint's weights
    student = new_student(backbone.transformer, backbone.feature_blocks, config.lora_rank)
    student.load_state_dict(state.get("ema") or state["student"])
    # a real-data run from before the teacher's grid was fixed recorded its own n
    sigmas = state.get("sigmas") or key_sigmas(config, teacher, saved.get("teacher_steps", TEACHER_STEPS))
    info = {"iterations": state["iter"], "distill_seconds": state["elapsed"], "config": saved,
            "data": config.data, "from_checkpoint": str(run / "checkpoint-rank0.json")}
    return export_student(student, Path(folder) if folder else run / "checkpoint-student", teacher, sigmas, info)
