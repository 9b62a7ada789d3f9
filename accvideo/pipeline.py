"""Generation: text (and optionally a first frame) -> video, with any transformer folder and sigma schedule.

A model folder holds a diffusers WanTransformer3DModel (config.json + safetensors) and `accvideo.json`,
which names its sampling settings and where its VAE lives. Numbered steps, as in diffusers pipelines:
1. encode the prompts, 2. encode the first frame (I2V), 3. draw the noise from the seed,
4. denoise with Eq. 5 (CFG where the model asks for it), 5. decode with the VAE.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from accvideo.latents import decode_latents, encode_clips
from accvideo.models.teacher import i2v_condition, velocity
from accvideo.sampling import SampleResult, cfg_velocity, sample_euler
from accvideo.schedules import flow_sigmas
from accvideo.shapes.spec import check_geometry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED = {"teacher": ASSETS / "teacher", "student": ASSETS / "student"}
SETTINGS_FILE = "accvideo.json"


@dataclass
class SamplingSettings:
    """How a model folder samples by default (stored as accvideo.json beside the weights)."""

    kind: str = "teacher"  # teacher or student
    steps: int = 50  # default number of Euler steps
    shift: float = 7.0  # flow shift of the sigma grid
    guidance: float = 5.0  # CFG scale; 1.0 = no CFG (one evaluation per step)
    sigmas: list[float] | None = None  # explicit sigma list (a student's key timesteps); overrides steps/shift
    vae: str = "../vae"  # VAE folder, relative to the model folder
    text_encoder: str = "minilm"  # text encoder name
    height: int = 64  # default clip size
    width: int = 64
    frames: int = 17

    def sigma_grid(self, steps: int | None = None) -> torch.Tensor:
        """The sigma list for a run: the explicit one when it matches, else the shifted grid."""
        if self.sigmas is not None and steps in (None, len(self.sigmas) - 1):
            return torch.tensor(self.sigmas, dtype=torch.float64)
        return flow_sigmas(steps or self.steps, self.shift)

    @classmethod
    def load(cls, folder: Path) -> SamplingSettings:
        """Read accvideo.json from a model folder."""
        return cls(**json.loads((folder / SETTINGS_FILE).read_text()))

    def save(self, folder: Path) -> None:
        """Write accvideo.json into a model folder."""
        (folder / SETTINGS_FILE).write_text(json.dumps(self.__dict__, indent=2) + "\n")


def relative_vae(folder: Path, vae_dir: Path) -> str:
    """The VAE folder as seen from a model folder (accvideo.json's `vae`), so the pair can move together."""
    return os.path.relpath(Path(vae_dir).resolve(), Path(folder).resolve())


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


def resolve_model(name_or_path: str) -> Path:
    """'teacher' / 'student' -> the shipped folders; anything else is a folder path. Raises with a clear message."""
    if name_or_path in SHIPPED:
        folder = SHIPPED[name_or_path]
        if not (folder / SETTINGS_FILE).is_file():
            raise FileNotFoundError(f"the shipped {name_or_path} is not in {folder}"
                                    + (": it ships with the distillation stage" if name_or_path == "student" else ""))
        return folder
    folder = Path(name_or_path)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder not found: {folder}")
    if not (folder / SETTINGS_FILE).is_file():
        raise FileNotFoundError(f"{folder} is not an accvideo model folder (no {SETTINGS_FILE})")
    return folder


class VideoGenerator:
    """Transformer + VAE + text encoder with sampling settings; loads once, generates many."""

    def __init__(self, transformer, vae, text_encoder, settings: SamplingSettings, device: str = "cpu"):
        self.transformer = transformer.eval().requires_grad_(False)
        self.vae = vae.eval().requires_grad_(False)
        self.text_encoder = text_encoder
        self.settings = settings
        self.device = torch.device(device)

    @classmethod
    def from_folder(cls, model: str, device: str = "cpu", text_encoder=None, vae=None) -> VideoGenerator:
        """Load a model folder ('teacher', 'student' or a path); text encoder and VAE may be shared in."""
        from diffusers import WanTransformer3DModel

        from accvideo.models.autoencoder import ShapesAutoencoder
        from accvideo.models.text import MiniLMTextEncoder

        folder = resolve_model(model)
        settings = SamplingSettings.load(folder)
        transformer = WanTransformer3DModel.from_pretrained(folder, torch_dtype=torch.float32).to(device)
        vae = vae or ShapesAutoencoder.from_pretrained((folder / settings.vae).resolve()).to(device)
        text_encoder = text_encoder or MiniLMTextEncoder(device)
        return cls(transformer, vae, text_encoder, settings, device)

    def encode_first_frames(self, images: np.ndarray) -> torch.Tensor:
        """uint8 images (B, H, W, 3) -> normalised first-frame latents (B, C, 1, h, w)."""
        return encode_clips(self.vae, images[:, None])

    def noise(self, seeds: list[int], height: int, width: int, frames: int) -> torch.Tensor:
        """Gaussian noise (B, C, f, h, w); sample i depends only on seeds[i]."""
        s = self.vae.spatial_factor
        shape = (self.vae.config.z_dim, 1 + (frames - 1) // self.vae.config.temporal_factor, height // s, width // s)
        return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(int(seed))) for seed in seeds])

    @torch.no_grad()
    def denoise(self, noise: torch.Tensor, text_states: torch.Tensor, uncond_states: torch.Tensor,
                sigmas: torch.Tensor, guidance: float, first_latents: torch.Tensor | None = None,
                return_trajectory: bool = False, progress: bool = False,
                present: torch.Tensor | None = None) -> SampleResult:
        """Eq. 5 from noise (B, C, f, h, w) over sigmas, with CFG when guidance != 1.

        first_latents (B, C, 1, h, w) makes it I2V; `present` (B,) bool limits that to some samples.
        """
        noise = noise.to(self.device)
        condition = i2v_condition(first_latents, tuple(noise.shape), present=present).to(self.device)

        def model_fn(latent: torch.Tensor, sigma: float, cond: bool) -> torch.Tensor:
            return velocity(self.transformer, latent, sigma, text_states if cond else uncond_states, condition)

        return sample_euler(cfg_velocity(model_fn, guidance), noise, sigmas, 1 if guidance == 1.0 else 2,
                            return_trajectory, progress)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents -> uint8 clips (B, F, H, W, 3)."""
        return decode_latents(self.vae, latents)

    def __call__(self, prompts: list[str], seeds: list[int], steps: int | None = None, guidance: float | None = None,
                 height: int | None = None, width: int | None = None, frames: int | None = None,
                 images: np.ndarray | None = None, return_trajectory: bool = False,
                 progress: bool = False) -> GenerationOutput:
        """Generate one clip per prompt; images (B, H, W, 3) uint8 turn it into I2V."""
        st = self.settings
        height, width, frames = height or st.height, width or st.width, frames or st.frames
        check_geometry(height, width, frames)
        if not prompts or any(not p.strip() for p in prompts):
            raise ValueError("empty prompt")
        guidance = st.guidance if guidance is None else guidance
        sigmas = st.sigma_grid(steps)
        timings = Timings()
        t0 = time.perf_counter()
        text = self.text_encoder(prompts).states.to(self.device)  # 1. (B, L, D)
        uncond = self.text_encoder([""] * len(prompts)).states.to(self.device)
        timings.text = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = None
        if images is not None:  # 2.
            if images.shape[1:3] != (height, width):
                raise ValueError(f"image is {images.shape[2]}x{images.shape[1]}, the clip is {width}x{height}")
            first = self.encode_first_frames(images)
        noise = self.noise(seeds, height, width, frames)  # 3.
        result = self.denoise(noise, text, uncond, sigmas, guidance, first, return_trajectory, progress)  # 4.
        timings.denoise = time.perf_counter() - t0
        t0 = time.perf_counter()
        clips = self.decode(result.latent)  # 5.
        timings.decode = time.perf_counter() - t0
        return GenerationOutput(clips, result.nfe, len(sigmas) - 1, timings, result.trajectory, sigmas)
