"""The shipped miniature as a backbone: a diffusers transformer (T2V + I2V in one), MiniLM, ShapesAutoencoder.

A model folder holds the transformer itself and accvideo.json, which names the VAE folder. The transformer
is WanTransformer3DModel or HunyuanVideoTransformer3DModel (config.json's `_class_name`); what differs
between them (text and I2V layouts, velocity, feature taps) comes from accvideo.models.teacher.architecture.
Wan class: text is MiniLM's states (B, L, 384), the condition mask + first-frame latent (B, T + C, f, h, w).
HunyuanVideo class: text is a dict of states, mask and pooled vector, the condition first-frame latent +
one mask channel (B, C + 1, f, h, w). Zeros for T2V.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from accvideo.backbones.base import LoadOptions, stored_text
from accvideo.backbones.conditioning import Cond, to
from accvideo.latents import decode_latents, encode_clips
from accvideo.models.teacher import architecture
from accvideo.settings import SamplingSettings, relative_path


if TYPE_CHECKING:  # annotations only: SynVid reads its samples through a backbone, so it is never imported here
    from accvideo.synvid.settings import SynVidSettings


class MiniatureBackbone:
    """Transformer + ShapesAutoencoder + MiniLM; the VAE and the text encoder may be None until needed."""

    name = "miniature"
    tasks = ("t2v", "i2v")
    world = "shapes"  # the Shapes world's sample prompts and size caps apply
    shares_parts = True  # MiniLM and a VAE folder named by two model folders load once
    teacher_data = True  # trains from prepare_teacher_data files

    def __init__(self, transformer, vae=None, text_encoder=None, device: str | torch.device = "cpu",
                 settings: SamplingSettings | None = None):
        self.transformer = transformer.eval().requires_grad_(False)
        self.arch = architecture(transformer)
        self.vae = vae.eval().requires_grad_(False) if vae is not None else None
        self.text_encoder = text_encoder
        self.device = torch.device(device)
        self.settings = settings or SamplingSettings()

    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """A miniature folder always has its accvideo.json."""
        return SamplingSettings.load(folder)

    @classmethod
    def transformer_dir(cls, model) -> Path:
        """The model folder itself holds the transformer (a LoRA student: its base's, see ModelFolder)."""
        return model.path

    @classmethod
    def check_folder_geometry(cls, model, height: int, width: int, frames: int) -> None:
        """The Shapes world's sizes."""
        from accvideo.shapes.spec import check_geometry

        check_geometry(height, width, frames)

    @classmethod
    def load(cls, model, device: str = "cpu", options: LoadOptions | None = None, text_encoder=None, vae=None,
             load_parts: bool = True) -> MiniatureBackbone:
        """Load a miniature ModelFolder; text encoder and VAE may be shared in, or skipped (load_parts=False)."""
        import diffusers

        from accvideo.models.text import MiniLMTextEncoder

        dtype = (options or LoadOptions()).torch_dtype
        class_name = architecture(model.transformer_config()["_class_name"]).class_name
        transformer = getattr(diffusers, class_name).from_pretrained(model.transformer_dir, dtype=dtype).to(device)
        if load_parts:
            vae = vae or cls._vae(model).to(device)
            text_encoder = text_encoder or MiniLMTextEncoder(device)
        return cls(transformer, vae, text_encoder, device, model.settings)

    @staticmethod
    def _vae(model):
        from accvideo.models.autoencoder import ShapesAutoencoder

        return ShapesAutoencoder.from_pretrained(model.vae_dir)

    @classmethod
    def export_student(cls, transformer, folder: Path, teacher, sigmas: list[float], info: dict) -> Path:
        """The transformer folder itself, its accvideo.json naming the teacher's VAE (a relative path)."""
        import json

        from accvideo.models.lora import save_student_weights

        folder.mkdir(parents=True, exist_ok=True)
        weights = save_student_weights(transformer, folder, folder, relative_path(folder, teacher.path),
                                       architecture(transformer).lora_loader)
        teacher.settings.for_student(sigmas, vae=relative_path(folder, teacher.vae_dir), **weights).save(folder)
        (folder / "training.json").write_text(json.dumps(info, indent=2, default=str))
        return folder

    @classmethod
    def stored_conditioning(cls, sample: dict[str, torch.Tensor], extra_fields: tuple[str, ...],
                            settings: SynVidSettings) -> tuple[Cond, Cond]:
        """Its text (states (L, D), or the HunyuanVideo class's dict with mask and pooled vector) and the I2V
        condition rebuilt from first_latent in the layout of the teacher's architecture."""
        lat = sample["latents"]
        first = sample["first_latent"][None] if bool(sample["i2v"].item()) else None
        arch = architecture(settings.architecture or "WanTransformer3DModel")
        return stored_text(sample, extra_fields), arch.condition(first, (1, *lat.shape[1:]))[0]

    def default_settings(self) -> SamplingSettings:
        return self.settings

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """The Shapes world's sizes."""
        self.check_folder_geometry(None, height, width, frames)

    def encode_text(self, prompts: list[str]) -> Cond:
        """MiniLM token states (B, L, 384), or the HunyuanVideo class's dict (states, mask, pooled)."""
        emb = self.text_encoder(prompts)
        return to(self.arch.text(emb.states, emb.mask), self.device)

    def text_from_states(self, states: torch.Tensor, mask: torch.Tensor) -> Cond:
        """What the transformer reads as text, from MiniLM states (B, L, 384) and mask (B, L) as teacher-data files
        store them (accvideo.training.teacher_data)."""
        return self.arch.text(states, mask)

    def image_features(self, images: np.ndarray, frames: int) -> dict[str, torch.Tensor]:
        """First frames (B, H, W, 3) -> {"first_latent": (B, C, 1, h, w)}."""
        return {"first_latent": encode_clips(self.vae, images[:, None])}

    def condition(self, features, shape: tuple[int, ...], present: torch.Tensor | None = None) -> Cond:
        """Mask + first-frame latent (B, T + C, f, h, w); features may be the first latents themselves."""
        first = features["first_latent"] if isinstance(features, dict) else features
        return self.arch.condition(first, shape, present).to(self.device)

    def velocity(self, transformer, latents: torch.Tensor, sigma, text: Cond, condition: Cond) -> torch.Tensor:
        return self.arch.velocity(transformer, latents, sigma, text, condition)

    def feature_blocks(self, transformer) -> list[torch.nn.Module]:
        return self.arch.blocks(transformer)

    def block_tokens(self, output) -> torch.Tensor:
        return self.arch.tokens(output)

    def patch_size(self, transformer) -> tuple[int, int, int]:
        return self.arch.patch(transformer.config)

    def feature_dim(self, transformer) -> int:
        return transformer.config.num_attention_heads * transformer.config.attention_head_dim

    def noise_shape(self, height: int, width: int, frames: int) -> tuple[int, int, int, int]:
        s = self.vae.spatial_factor
        return (self.vae.config.z_dim, 1 + (frames - 1) // self.vae.config.temporal_factor, height // s, width // s)

    def encode_video(self, clips: np.ndarray) -> torch.Tensor:
        return encode_clips(self.vae, clips)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        return decode_latents(self.vae, latents)
