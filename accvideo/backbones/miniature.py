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

import numpy as np
import torch

from accvideo.backbones.base import LoadOptions
from accvideo.backbones.conditioning import Cond, to
from accvideo.latents import decode_latents, encode_clips
from accvideo.models.teacher import architecture
from accvideo.settings import SamplingSettings


def read_class_name(folder: Path) -> str:
    """The diffusers class of a miniature model folder's transformer (config.json's _class_name)."""
    import json

    config = Path(folder) / "config.json"
    try:
        return json.loads(config.read_text())["_class_name"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{config}: not a readable transformer config ({err})") from err


class MiniatureBackbone:
    """Transformer + ShapesAutoencoder + MiniLM; the VAE and the text encoder may be None until needed."""

    name = "miniature"
    tasks = ("t2v", "i2v")

    def __init__(self, transformer, vae=None, text_encoder=None, device: str | torch.device = "cpu",
                 settings: SamplingSettings | None = None):
        self.transformer = transformer.eval().requires_grad_(False)
        self.arch = architecture(transformer)
        self.vae = vae.eval().requires_grad_(False) if vae is not None else None
        self.text_encoder = text_encoder
        self.device = torch.device(device)
        self.settings = settings or SamplingSettings()

    @classmethod
    def from_folder(cls, folder: Path, device: str = "cpu", options: LoadOptions | None = None, text_encoder=None,
                    vae=None, load_parts: bool = True) -> MiniatureBackbone:
        """Load a miniature model folder; text encoder and VAE may be shared in, or skipped (load_parts=False)."""
        import diffusers

        from accvideo.models.autoencoder import ShapesAutoencoder
        from accvideo.models.text import MiniLMTextEncoder

        settings = SamplingSettings.load(folder)
        dtype = (options or LoadOptions()).torch_dtype
        class_name = architecture(read_class_name(folder)).class_name
        transformer = getattr(diffusers, class_name).from_pretrained(folder, dtype=dtype).to(device)
        if load_parts:
            vae = vae or ShapesAutoencoder.from_pretrained((folder / settings.vae).resolve()).to(device)
            text_encoder = text_encoder or MiniLMTextEncoder(device)
        return cls(transformer, vae, text_encoder, device, settings)

    def default_settings(self) -> SamplingSettings:
        return self.settings

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """The Shapes world's sizes."""
        from accvideo.shapes.spec import check_geometry

        check_geometry(height, width, frames)

    def encode_text(self, prompts: list[str]) -> Cond:
        """MiniLM token states (B, L, 384), or the HunyuanVideo class's dict (states, mask, pooled)."""
        emb = self.text_encoder(prompts)
        return to(self.arch.text(emb.states, emb.mask), self.device)

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
