"""Generation: text (and optionally a first frame) -> video, with any backbone folder and sigma schedule.

A miniature model folder holds a diffusers HunyuanVideoTransformer3DModel or WanTransformer3DModel (config.json +
safetensors) and `accvideo.json`, which names its sampling settings and where its VAE lives; a diffusers pipeline
folder (Wan2.1, HunyuanVideo) runs through its backbone (accvideo.backbones). Numbered steps, as in diffusers pipelines:
1. encode the prompts, 2. encode the first frame (I2V), 3. draw the noise from the seed,
4. denoise with Eq. 5 (CFG where the model asks for it), 5. decode with the VAE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from accvideo.backbones.base import Backbone
from accvideo.backbones.registry import ASSETS, SHIPPED, ModelFolder, resolve_model  # noqa: F401 (callers' way in)
from accvideo.sampling import SampleResult, guided_velocity, sample_euler
from accvideo.settings import SamplingSettings


@dataclass
class Timings:
    """Wall seconds of each stage of one generation."""

    text: float = 0.0
    denoise: float = 0.0
    decode: float = 0.0

    @property
    def total(self) -> float:
        return self.text + self.denoise + self.decode


@dataclass
class GenerationOutput:
    """Generated clips (B, F, H, W, 3) uint8, with their cost and, on request, the denoising trajectory."""

    frames: np.ndarray
    nfe: int
    steps: int
    timings: Timings = field(default_factory=Timings)
    trajectory: list[torch.Tensor] | None = None  # latents (B, C, f, h, w) at every sigma, noise first
    sigmas: torch.Tensor | None = None


class VideoGenerator:
    """A backbone (transformer, VAE, text encoder) with sampling settings; loads once, generates many.

    Built from the miniature's parts, or around any backbone with `from_backbone`.
    """

    def __init__(self, transformer, vae, text_encoder, settings: SamplingSettings, device: str = "cpu",
                 backbone: Backbone | None = None):
        from accvideo.backbones.registry import from_parts

        self.backbone = backbone or from_parts(transformer, vae, text_encoder, device, settings)
        self.transformer = self.backbone.transformer  # the velocity model sampled (a student may swap in)
        self.settings = settings
        self.device = self.backbone.device

    @classmethod
    def from_backbone(cls, backbone: Backbone, settings: SamplingSettings) -> VideoGenerator:
        """Wrap a loaded backbone."""
        return cls(backbone.transformer, None, None, settings, backbone=backbone)

    @classmethod
    def from_folder(cls, model: str | Path | ModelFolder, device: str = "cpu", text_encoder=None, vae=None,
                    options=None) -> VideoGenerator:
        """Load a model folder ('teacher', 'student', a path, or one already opened); text encoder and VAE may be
        shared in (miniature). `options` (accvideo.backbones.base.LoadOptions): dtype, offload, VAE tiling/slicing,
        context parallelism."""
        folder = model if isinstance(model, ModelFolder) else ModelFolder.open(model)
        return cls.from_backbone(folder.load(device, options, text_encoder, vae), folder.settings)

    @property
    def vae(self):
        """The backbone's VAE."""
        return self.backbone.vae

    @property
    def text_encoder(self):
        """The backbone's text encoder (the miniature's MiniLM; diffusers backbones encode via encode_text)."""
        return getattr(self.backbone, "text_encoder", None)

    def encode_text(self, prompts: list[str]):
        """Text conditioning of prompts on the device: states (B, L, D), or the backbone's dict of them."""
        return self.backbone.encode_text(prompts)

    def encode_first_frames(self, images: np.ndarray, frames: int | None = None):
        """uint8 images (B, H, W, 3) -> the backbone's image features: the miniature's first-frame latents
        (B, C, 1, h, w), or a diffusers backbone's dict (condition latent, image tokens)."""
        features = self.backbone.image_features(images, frames or self.settings.frames)
        return features["first_latent"] if set(features) == {"first_latent"} else features

    def noise(self, seeds: list[int], height: int, width: int, frames: int) -> torch.Tensor:
        """Gaussian noise (B, C, f, h, w); sample i depends only on seeds[i]."""
        shape = self.backbone.noise_shape(height, width, frames)
        return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds])

    @torch.no_grad()
    def denoise(self, noise: torch.Tensor, text_states, uncond_states, sigmas: torch.Tensor, guidance: float,
                first_latents=None, return_trajectory: bool = False, progress: bool = False,
                present: torch.Tensor | None = None, condition=None) -> SampleResult:
        """Eq. 5 from noise (B, C, f, h, w) over sigmas, with CFG when guidance != 1.

        first_latents (the image features of encode_first_frames) makes it I2V; `present` (B,) bool limits
        that to some samples. A ready `condition` (the backbone's) may be given instead.
        """
        noise = noise.to(self.device)
        if condition is None:
            condition = self.backbone.condition(first_latents, tuple(noise.shape), present)
        fn = guided_velocity(self.backbone.velocity, self.transformer, text_states, uncond_states, condition, guidance)
        return sample_euler(fn, noise, sigmas, 1 if guidance == 1.0 else 2, return_trajectory, progress)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents -> uint8 clips (B, F, H, W, 3)."""
        return self.backbone.decode(latents)

    def __call__(self, prompts: list[str], seeds: list[int], steps: int | None = None, guidance: float | None = None,
                 height: int | None = None, width: int | None = None, frames: int | None = None,
                 images: np.ndarray | None = None, return_trajectory: bool = False,
                 progress: bool = False) -> GenerationOutput:
        """Generate one clip per prompt; images (B, H, W, 3) uint8 turn it into I2V."""
        st = self.settings
        height, width, frames = height or st.height, width or st.width, frames or st.frames
        self.backbone.check_geometry(height, width, frames)
        if not prompts or any(not p.strip() for p in prompts):
            raise ValueError("empty prompt")
        guidance = st.guidance if guidance is None else guidance
        sigmas = st.sigma_grid(steps)
        timings = Timings()
        t0 = time.perf_counter()
        text = self.encode_text(prompts)  # 1. (B, L, D)
        uncond = self.encode_text([""] * len(prompts)) if guidance != 1.0 else text
        timings.text = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = None
        if images is not None:  # 2.
            if images.shape[1:3] != (height, width):
                raise ValueError(f"image is {images.shape[2]}x{images.shape[1]}, the clip is {width}x{height}")
            first = self.encode_first_frames(images, frames)
        noise = self.noise(seeds, height, width, frames)  # 3.
        result = self.denoise(noise, text, uncond, sigmas, guidance, first, return_trajectory, progress)  # 4.
        timings.denoise = time.perf_counter() - t0
        t0 = time.perf_counter()
        clips = self.decode(result.latent)  # 5.
        timings.decode = time.perf_counter() - t0
        return GenerationOutput(clips, result.nfe, len(sigmas) - 1, timings, result.trajectory, sigmas)
