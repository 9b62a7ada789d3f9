"""HunyuanVideo text-to-video from a diffusers `HunyuanVideoPipeline` folder.

Text: the pipeline's own encode_prompt (Llama states under its prompt template, with their mask, and
the pooled CLIP vector). Guidance is embedded (the model takes the CFG scale as an input), so a step is
one evaluation. Flow shift 7 on a 50-step grid: its every tenth point is the paper's key timesteps
(Sec. 4.2). Latents are scaled by the VAE's scaling_factor as the pipeline does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from accvideo.backbones.base import DiffusersBackbone
from accvideo.backbones.conditioning import Cond
from accvideo.schedules import TEACHER_STEPS
from accvideo.settings import SamplingSettings

HUNYUAN_SHIFT = 7.0  # the paper's (and HunyuanVideo's) flow shift
HUNYUAN_EMBEDDED_GUIDANCE = 6.0  # HunyuanVideo's default embedded guidance scale
HUNYUAN_SIZE = (544, 960, 93)  # height, width, frames of the paper's SynVid (Sec. 5.1)
HUNYUAN_TEXT_TOKENS = 256  # the pipeline's max_sequence_length


class HunyuanT2VBackbone(DiffusersBackbone):
    """HunyuanVideoTransformer3DModel + Llama + CLIP + AutoencoderKLHunyuanVideo."""

    name = "hunyuan-t2v"
    tasks = ("t2v",)
    pipeline_class = "HunyuanVideoPipeline"
    transformer_class = "HunyuanVideoTransformer3DModel"
    lora_loader = "HunyuanVideoLoraLoaderMixin"
    vae_class = "AutoencoderKLHunyuanVideo"
    embedded_guidance = HUNYUAN_EMBEDDED_GUIDANCE

    @staticmethod
    def vae_factors(vae_config: dict) -> tuple[int, int, int]:
        c = vae_config
        return c["spatial_compression_ratio"], c["temporal_compression_ratio"], c["latent_channels"]

    @staticmethod
    def patch(transformer_config: dict) -> tuple[int, int, int]:
        c = transformer_config
        return (c["patch_size_t"], c["patch_size"], c["patch_size"])

    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """50 steps at shift 7, embedded guidance 6 and no CFG, at the paper's 544x960x93."""
        h, w, f = HUNYUAN_SIZE
        return SamplingSettings(kind="teacher", steps=TEACHER_STEPS, shift=HUNYUAN_SHIFT, guidance=1.0, vae="vae",
                                text_encoder="llama+clip", height=h, width=w, frames=f, backbone=cls.name,
                                embedded_guidance=cls.embedded_guidance)

    def _encode_new(self, prompts: list[str]) -> Cond:
        from diffusers.pipelines.hunyuan_video.pipeline_hunyuan_video import DEFAULT_PROMPT_TEMPLATE

        states, pooled, mask = self.pipe.encode_prompt(prompt=prompts, prompt_template=DEFAULT_PROMPT_TEMPLATE,
                                                       device=self.device, dtype=self.dtype,
                                                       max_sequence_length=HUNYUAN_TEXT_TOKENS)
        return {"text_states": states, "text_mask": mask, "text_pooled": pooled}  # (B, L, D), (B, L), (B, P)

    def velocity(self, transformer, latents: torch.Tensor, sigma, text: Cond, condition: Cond) -> torch.Tensor:
        """v(l_t, t) (B, C, f, h, w) with the guidance scale embedded (x 1000, as the pipeline passes it)."""
        dtype = next(transformer.parameters()).dtype
        dev = latents.device
        b = latents.shape[0]
        guidance = torch.full((b,), self.embedded_guidance * 1000.0, dtype=dtype, device=dev)
        out = transformer(hidden_states=latents.to(dtype), timestep=self.timesteps(latents, sigma),
                          encoder_hidden_states=text["text_states"].to(dev, dtype),
                          encoder_attention_mask=text["text_mask"].to(dev, dtype),
                          pooled_projections=text["text_pooled"].to(dev, dtype), guidance=guidance,
                          return_dict=False)[0]
        return out.to(latents.dtype)  # (B, C, f, h, w)

    def feature_blocks(self, transformer) -> list[torch.nn.Module]:
        """The 20 dual-stream then the 40 single-stream blocks: 60 in all, as the paper counts them."""
        return list(transformer.transformer_blocks) + list(transformer.single_transformer_blocks)

    def block_tokens(self, output) -> torch.Tensor:
        return output[0]  # (video tokens, text tokens)

    @torch.no_grad()
    def encode_video(self, clips: np.ndarray) -> torch.Tensor:
        """uint8 clips -> posterior-mean latents x scaling_factor."""
        from accvideo.latents import to_model_space

        x = to_model_space(clips).to(self.device, self.vae.dtype)
        return self.vae.encode(x).latent_dist.mode().float() * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """latents / scaling_factor -> VAE decode -> uint8 clips."""
        from accvideo.latents import to_pixels

        z = latents.to(self.device, self.vae.dtype) / self.vae.config.scaling_factor
        return to_pixels(self.vae.decode(z).sample)
