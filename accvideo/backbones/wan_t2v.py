"""Wan2.1 text-to-video (1.3B, 14B) from a diffusers `WanPipeline` folder: UMT5 text states, CFG.

The text path is WanPipeline's own: UMT5 states of the first 512 tokens, zero past each prompt.
Latents are normalised with AutoencoderKLWan's latents_mean / latents_std as the pipeline does.
"""

from __future__ import annotations

from pathlib import Path

import torch

from accvideo.backbones.base import DiffusersBackbone
from accvideo.backbones.pipeline_folder import scheduler_shift
from accvideo.backbones.conditioning import Cond
from accvideo.schedules import TEACHER_STEPS
from accvideo.settings import SamplingSettings

WAN_TEXT_TOKENS = 512  # WanPipeline's max_sequence_length (Wan2.1's text_len)
WAN_SHIFT = 3.0  # flow shift of the 480p releases, used when the folder's scheduler names none
WAN_GUIDANCE = 5.0  # CFG scale of the Wan2.1 releases
WAN_SIZE = (480, 832, 81)  # height, width, frames of the 480p releases


class WanT2VBackbone(DiffusersBackbone):
    """WanTransformer3DModel + UMT5 + AutoencoderKLWan."""

    name = "wan-t2v"
    tasks = ("t2v",)
    pipeline_class = "WanPipeline"
    transformer_class = "WanTransformer3DModel"
    lora_loader = "WanLoraLoaderMixin"
    vae_class = "AutoencoderKLWan"
    max_sequence_length = WAN_TEXT_TOKENS
    own_scheduler = True  # WanPipeline samples its scheduler's own grid: a student ships one that gives its sigmas

    @staticmethod
    def vae_factors(vae_config: dict) -> tuple[int, int, int]:
        return vae_config["scale_factor_spatial"], vae_config["scale_factor_temporal"], vae_config["z_dim"]

    @staticmethod
    def patch(transformer_config: dict) -> tuple[int, int, int]:
        return tuple(transformer_config["patch_size"])

    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """50 steps with CFG 5 on the folder's shift, at 480x832x81."""
        h, w, f = WAN_SIZE
        return SamplingSettings(kind="teacher", steps=TEACHER_STEPS, shift=scheduler_shift(folder, WAN_SHIFT),
                                guidance=WAN_GUIDANCE, vae="vae", text_encoder="umt5", height=h, width=w, frames=f,
                                backbone=cls.name)

    def _encode_new(self, prompts: list[str]) -> Cond:
        from diffusers import WanPipeline

        # WanPipeline's own UMT5 path; called unbound so that WanImageToVideoPipeline (whose copy of it needs
        # ftfy in diffusers 0.42) shares it.
        return WanPipeline._get_t5_prompt_embeds(self.pipe, prompt=prompts, device=self.device, dtype=self.dtype,
                                                 max_sequence_length=self.max_sequence_length)  # (B, 512, D)

    def velocity(self, transformer, latents: torch.Tensor, sigma, text: Cond, condition: Cond) -> torch.Tensor:
        """v(l_t, t) (B, C, f, h, w); an I2V condition (mask + latent channels) is concatenated as in WanI2V."""
        dtype = next(transformer.parameters()).dtype
        x = latents
        image = None
        if condition is not None:
            x = torch.cat([latents, condition["condition"].to(latents.device, latents.dtype)], dim=1)  # (B, C+4+C, ..)
            image = condition["image_embeds"].to(latents.device, dtype)  # (B, N, E)
        out = transformer(hidden_states=x.to(dtype), timestep=self.timesteps(latents, sigma),
                          encoder_hidden_states=text.to(latents.device, dtype), encoder_hidden_states_image=image,
                          return_dict=False)[0]
        return out.to(latents.dtype)  # (B, C, f, h, w)

    def feature_blocks(self, transformer) -> list[torch.nn.Module]:
        return list(transformer.blocks)
