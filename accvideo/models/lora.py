"""A student as low-rank adapters (`peft`) over the frozen teacher, saved in diffusers' LoRA format.

The adapters sit on every linear layer inside the transformer's blocks (attention projections, feed-forward,
modulation); the teacher's weights stay as they are. The exported file is what diffusers writes and reads
(`pytorch_lora_weights.safetensors`, keys `transformer.<module>.lora_A.weight`, the adapter config in its
metadata), so `pipe.load_lora_weights(student_folder)` on the teacher's stock pipeline gives the student.
"""

from __future__ import annotations

from pathlib import Path

import torch

LORA_FILE = "pytorch_lora_weights.safetensors"  # diffusers' default weight name for load_lora_weights
TRANSFORMER_PREFIX = "transformer"  # the pipelines' component name the keys are prefixed with


def lora_targets(transformer: torch.nn.Module, blocks: list[torch.nn.Module]) -> list[str]:
    """Names (in the transformer) of every nn.Linear inside `blocks`: where the adapters go."""
    inside = {id(m) for block in blocks for m in block.modules()}
    return sorted(name for name, m in transformer.named_modules()
                  if isinstance(m, torch.nn.Linear) and id(m) in inside)


def add_lora(transformer: torch.nn.Module, rank: int, targets: list[str]) -> torch.nn.Module:
    """Freeze `transformer` and add rank-`rank` adapters (alpha = rank: scale 1) on `targets`; in place.

    The adapters start at zero (B = 0), so the student starts as the teacher, as Algorithm 1's line 1 asks.
    """
    from peft import LoraConfig

    transformer.requires_grad_(False)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets, init_lora_weights=True))
    return transformer


def new_student(teacher: torch.nn.Module, blocks, rank: int = 0) -> torch.nn.Module:
    """Algorithm 1, line 1 (beta <- theta): an fp32 trainable copy of the teacher; with rank >= 1 a frozen copy
    carrying rank-`rank` adapters on the Linear layers of `blocks(copy)` (the backbone's feature_blocks)."""
    import copy

    student = copy.deepcopy(teacher).float()
    if rank:
        return add_lora(student, rank, lora_targets(student, blocks(student)))
    return student.requires_grad_(True)


def has_lora(transformer: torch.nn.Module) -> bool:
    """Whether the transformer carries peft adapters (a LoRA student)."""
    return bool(getattr(transformer, "peft_config", None))


def save_student_weights(transformer: torch.nn.Module, transformer_dir: Path, folder: Path, base: str,
                         lora_loader: str | None) -> dict:
    """A student's weights on disk: the whole transformer into `transformer_dir`, or, for a LoRA student, only
    its adapters into `folder` (written by `lora_loader`, the backbone's diffusers LoRA loader class). Returns the accvideo.json fields that say which: {} or {lora, base}, where
    `base` is the teacher folder (relative to `folder`) whose transformer the adapters go on."""
    if has_lora(transformer):
        save_lora(transformer, folder, lora_loader)
        return {"lora": LORA_FILE, "base": base}
    transformer.save_pretrained(transformer_dir)
    return {}


def save_lora(transformer: torch.nn.Module, folder: Path, lora_loader: str | None) -> Path:
    """Write the adapters of a LoRA student as FOLDER/pytorch_lora_weights.safetensors with diffusers' own writer
    (`lora_loader`'s `save_lora_weights`, e.g. WanLoraLoaderMixin's: keys prefixed `transformer.`, the adapter
    config in the metadata)."""
    import diffusers.loaders
    from peft.utils import get_peft_model_state_dict

    if lora_loader is None:
        raise ValueError(f"no diffusers LoRA loader writes {type(transformer).__name__} adapters")
    loader = getattr(diffusers.loaders, lora_loader)
    loader.save_lora_weights(folder, transformer_lora_layers=get_peft_model_state_dict(transformer),
                             transformer_lora_adapter_metadata=transformer.peft_config["default"].to_dict(),
                             weight_name=LORA_FILE)
    return folder / LORA_FILE


def apply_lora(transformer: torch.nn.Module, file: Path) -> torch.nn.Module:
    """Load a LoRA file onto a transformer and fuse it into the weights (the student's transformer); in place."""
    transformer.load_lora_adapter(str(file), prefix=TRANSFORMER_PREFIX, adapter_name="student")
    transformer.fuse_lora(adapter_names=["student"])
    transformer.unload_lora()
    return transformer
