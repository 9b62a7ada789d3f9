"""Wan2.1 image-to-video (14B) from a diffusers `WanImageToVideoPipeline` folder.

Conditioning as in the pipeline: CLIP image tokens (the penultimate hidden states of its vision
encoder) enter the cross-attention, and the VAE latent of [first frame, zeros ...] with a 4-channel
first-frame mask is concatenated to the noisy latent along channels. Both come from the pipeline's own
`encode_image` and `prepare_latents`. Every clip needs a first frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from accvideo.backbones.conditioning import Cond
from accvideo.backbones.wan_t2v import WanT2VBackbone
from accvideo.settings import SamplingSettings


class WanI2VBackbone(WanT2VBackbone):
    """WanTransformer3DModel (I2V) + UMT5 + CLIP vision + AutoencoderKLWan."""

    name = "wan-i2v"
    tasks = ("i2v",)
    pipeline_class = "WanImageToVideoPipeline"

    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """As Wan2.1-T2V."""
        settings = super().defaults(folder)
        settings.text_encoder = "umt5+clip-vision"
        return settings

    @torch.no_grad()
    def image_features(self, images: np.ndarray, frames: int) -> dict[str, torch.Tensor]:
        """First frames (B, H, W, 3) -> condition (B, 4 + C, f, h, w) and CLIP image tokens (B, N, E)."""
        from PIL import Image

        pipe = self.pipe
        pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
        height, width = images.shape[1:3]
        shape = (1, *self.noise_shape(height, width, frames))
        conds = []
        for im in pil:  # prepare_latents encodes one image per call (it repeats it over its batch)
            x = pipe.video_processor.preprocess(im, height=height, width=width).to(self.device, torch.float32)
            _, cond = pipe.prepare_latents(x, 1, shape[1], height, width, frames, torch.float32, self.device, None,
                                           latents=torch.zeros(shape))
            conds.append(cond[0].float())
        embeds = pipe.encode_image(pil, self.device)  # (B, N, E): penultimate CLIP hidden states
        return {"condition": torch.stack(conds), "image_embeds": embeds.to(self.dtype)}

    def condition(self, features, shape: tuple[int, ...], present: torch.Tensor | None = None) -> Cond:
        """The stored features, checked: Wan2.1-I2V needs a first frame for every clip."""
        if features is None or (present is not None and not bool(present.all())):
            raise ValueError("Wan2.1-I2V needs a first frame for every clip (--image, or an image per prompt)")
        return {name: features[name].to(self.device) for name in ("condition", "image_embeds")}
