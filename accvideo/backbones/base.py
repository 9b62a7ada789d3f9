"""The backbone interface: what AccVideo needs of a video diffusion model, and the shared diffusers plumbing.

A backbone bundles a transformer with its text encoder(s), conditioning, VAE and default sampling
settings. Generation, SynVid and distillation talk only to this interface, so the shipped miniature,
Wan2.1 (T2V, I2V) and HunyuanVideo run through the same code. Components load lazily: distillation
touches only the transformer; the text encoders and the VAE load on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from accvideo.backbones.conditioning import Cond
from accvideo.backbones.pipeline_folder import link_pipeline_parts, student_scheduler
from accvideo.schedules import model_timesteps
from accvideo.settings import SamplingSettings, relative_path


if TYPE_CHECKING:  # annotations only: SynVid reads its samples through a backbone, so it is never imported here
    from accvideo.synvid.settings import SynVidSettings

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class LoadOptions:
    """How to load a backbone at real sizes (the miniature uses only `dtype`)."""

    dtype: str = "fp32"  # fp32, bf16 or fp16: the weights' dtype
    offload: bool = False  # model CPU offload: each component moves to the GPU only while it runs
    vae_tiling: bool = False  # decode/encode the VAE in spatial tiles
    vae_slicing: bool = False  # decode/encode one clip of a batch at a time
    context_parallel: int = 1  # Ulysses degree: split one clip's tokens over this many GPUs (launch that many ranks)

    @property
    def torch_dtype(self) -> torch.dtype:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        return DTYPES[self.dtype]


class Backbone(Protocol):
    """What generation, SynVid and distillation call; the miniature and the diffusers backbones implement it."""

    name: str  # registry key: miniature, wan-t2v, wan-i2v, hunyuan-t2v
    tasks: tuple[str, ...]  # "t2v" and/or "i2v"
    world: str | None  # the world whose sample prompts and size caps suit it ("shapes" for the miniature), or None
    shares_parts: bool  # whether two folders of this backbone may share a loaded text encoder and VAE (the studio)
    teacher_data: bool  # whether it trains from prepare_teacher_data files (the real-data distillation baseline)
    transformer: torch.nn.Module  # the velocity model v_theta
    device: torch.device

    # -- class level: what the backbone says about a folder before (or instead of) loading it --
    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """The sampling settings of a folder that has no accvideo.json."""

    @classmethod
    def transformer_dir(cls, model) -> Path:
        """The folder of a ModelFolder's transformer weights."""

    @classmethod
    def check_folder_geometry(cls, model, height: int, width: int, frames: int) -> None:
        """ValueError unless the clip size suits a ModelFolder (configs only, no weights)."""

    @classmethod
    def load(cls, model, device, options, text_encoder, vae, load_parts: bool) -> Backbone:
        """Load a ModelFolder (text encoder and VAE may be shared in; load_parts=False: the transformer alone)."""

    @classmethod
    def export_student(cls, transformer, folder: Path, teacher, sigmas: list[float], info: dict) -> Path:
        """Write a distilled student of the teacher ModelFolder so that `ModelFolder.open(folder)` runs it."""

    @classmethod
    def stored_conditioning(cls, sample: dict[str, torch.Tensor], extra_fields: tuple[str, ...],
                            settings: SynVidSettings) -> tuple[Cond, Cond]:
        """A SynVid sample's stored tensors -> (text, condition) as velocity() reads them."""

    # -- instance level --
    def default_settings(self) -> SamplingSettings:
        """Steps, shift, guidance, sigmas and clip size this backbone samples with by default."""

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """Raise ValueError unless the clip size suits the VAE and the transformer's patches."""

    def encode_text(self, prompts: list[str]) -> Cond:
        """Prompts -> text conditioning (states (B, L, D), plus mask / pooled vector where the model reads them)."""

    def image_features(self, images: np.ndarray, frames: int) -> dict[str, torch.Tensor]:
        """First frames (B, H, W, 3) uint8 -> what I2V stores per sample (latents, image tokens)."""

    def condition(self, features, shape: tuple[int, ...], present: torch.Tensor | None = None) -> Cond:
        """Image conditioning for latents of `shape` (B, C, f, h, w) from image features (None for T2V)."""

    def velocity(self, transformer, latents: torch.Tensor, sigma, text: Cond, condition: Cond) -> torch.Tensor:
        """The flow velocity v(l_t, t) (B, C, f, h, w) of `transformer` (teacher or student) at sigma."""

    def feature_blocks(self, transformer) -> list[torch.nn.Module]:
        """The transformer's blocks in depth order: the discriminator's feature taps hook one by index."""

    def block_tokens(self, output) -> torch.Tensor:
        """A block's output -> its video tokens (B, N, D), N = f' * h' * w'."""

    def patch_size(self, transformer) -> tuple[int, int, int]:
        """Latent cells per token along (f, h, w)."""

    def feature_dim(self, transformer) -> int:
        """Width D of the transformer's tokens."""

    def noise_shape(self, height: int, width: int, frames: int) -> tuple[int, int, int, int]:
        """Latent shape (C, f, h, w) of one clip."""

    def encode_video(self, clips: np.ndarray) -> torch.Tensor:
        """uint8 clips (B, F, H, W, 3) -> normalised latents (B, C, f, h, w)."""

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """Normalised latents (B, C, f, h, w) -> uint8 clips (B, F, H, W, 3)."""


def stored_text(sample: dict[str, torch.Tensor], extra_fields: tuple[str, ...]) -> Cond:
    """A SynVid sample's text conditioning: its states (L, D), or a dict with its other text_* fields."""
    text_keys = [k for k in extra_fields if k.startswith("text_")]
    if not text_keys:
        return sample["text_states"].float()
    return {"text_states": sample["text_states"].float(), **{k: sample[k].float() for k in text_keys}}


class DiffusersBackbone:
    """Shared code of the diffusers backbones: loading from a pipeline folder, memory options, caching, VAE maths.

    `folder` is the diffusers pipeline folder whose text encoders, tokenizers and VAE are used; the
    transformer comes from `transformer_dir` (the folder's own, or a distilled student's).
    """

    name = "diffusers"
    tasks: tuple[str, ...] = ("t2v",)
    world = None  # any prompt, any size its VAE and patches take
    shares_parts = False  # each folder loads its own text encoders and VAE, lazily
    teacher_data = False
    pipeline_class = "DiffusionPipeline"
    transformer_class = "ModelMixin"
    vae_class = "AutoencoderKL"
    own_scheduler = False  # whether a student needs its own scheduler for the stock pipeline to sample its sigmas
    lora_loader: str | None = None  # the diffusers LoRA loader whose save_lora_weights writes what its pipelines read

    def __init__(self, folder: Path, transformer_dir: Path | None = None, options: LoadOptions | None = None,
                 device: str | torch.device = "cpu", transformer=None):
        import diffusers

        self.folder = Path(folder)
        self.options = options or LoadOptions()
        self.dtype = self.options.torch_dtype
        self.device = torch.device(device)
        if transformer is None:
            cls = getattr(diffusers, self.transformer_class)
            transformer = cls.from_pretrained(transformer_dir or self.folder / "transformer", dtype=self.dtype)
            if not self.options.offload:
                transformer = transformer.to(self.device)
        self.transformer = transformer.eval().requires_grad_(False)
        if self.options.context_parallel > 1:
            self._enable_context_parallel(self.options.context_parallel)
        self.vae_config = self.vae_config_of(self.folder)
        self._pipe = None
        self._text_cache: dict[str, Cond] = {}

    @classmethod
    def vae_config_of(cls, folder: Path) -> dict:
        """The VAE's config in a pipeline folder (no weights read)."""
        return json.loads((Path(folder) / "vae" / "config.json").read_text())

    def _enable_context_parallel(self, degree: int) -> None:
        from diffusers import ContextParallelConfig

        if getattr(self.transformer, "_cp_plan", None) is None:
            raise ValueError(f"{type(self.transformer).__name__} has no context-parallel plan in this diffusers")
        self.transformer.enable_parallelism(config=ContextParallelConfig(ulysses_degree=degree))

    @property
    def pipe(self):
        """The stock diffusers pipeline around our transformer (text encoders, tokenizers, VAE); loads on first use."""
        if self._pipe is None:
            import diffusers

            cls = getattr(diffusers, self.pipeline_class)
            pipe = cls.from_pretrained(self.folder, transformer=self.transformer, dtype=self.dtype)
            if self.options.offload:
                pipe.enable_model_cpu_offload(device=self.device)
            else:
                pipe.to(self.device)
            if self.options.vae_tiling:
                pipe.vae.enable_tiling()
            if self.options.vae_slicing:
                pipe.vae.enable_slicing()
            self._pipe = pipe
        return self._pipe

    @property
    def vae(self):
        """The pipeline's VAE."""
        return self.pipe.vae

    @staticmethod
    def vae_factors(vae_config: dict) -> tuple[int, int, int]:
        """(pixels per latent cell, frames per latent frame, latent channels) from the VAE's config."""
        raise NotImplementedError

    @staticmethod
    def patch(transformer_config: dict) -> tuple[int, int, int]:
        """Latent cells per token along (f, h, w) from the transformer's config."""
        raise NotImplementedError

    @classmethod
    def check_sizes(cls, vae_config: dict, transformer_config: dict, height: int, width: int, frames: int) -> None:
        """Sizes must be whole numbers of tokens (VAE factor x patch), frames 1 + (temporal factor) k."""
        spatial, temporal, _ = cls.vae_factors(vae_config)
        _, ph, pw = cls.patch(transformer_config)
        for name, value, p in (("height", height, ph), ("width", width, pw)):
            if value < spatial * p or value % (spatial * p):
                raise ValueError(f"{name} must be a positive multiple of {spatial * p} for {cls.name}, got {value}")
        if frames < 1 or (frames - 1) % temporal:
            raise ValueError(f"frames must be 1 + {temporal}k, got {frames}")

    @classmethod
    def defaults(cls, folder: Path) -> SamplingSettings:
        """The sampling settings of a pipeline folder without an accvideo.json."""
        raise NotImplementedError

    @classmethod
    def transformer_dir(cls, model) -> Path:
        """A pipeline folder's (or a distilled student's) transformer/ subfolder."""
        return model.path / "transformer"

    @classmethod
    def check_folder_geometry(cls, model, height: int, width: int, frames: int) -> None:
        """Sizes against the VAE's and the transformer's configs."""
        cls.check_sizes(cls.vae_config_of(model.pipeline_dir), model.transformer_config(), height, width, frames)

    @classmethod
    def load(cls, model, device="cpu", options=None, text_encoder=None, vae=None, load_parts=True):
        """The transformer now; text encoders and VAE from the pipeline folder on first use."""
        backbone = cls(model.pipeline_dir, model.transformer_dir, options, device)
        if model.settings.embedded_guidance is not None:
            backbone.embedded_guidance = model.settings.embedded_guidance
        return backbone

    @classmethod
    def export_student(cls, transformer, folder: Path, teacher, sigmas: list[float], info: dict) -> Path:
        """transformer/ + accvideo.json (backbone, pipeline pointer, sigmas, no CFG) + links to the other parts,
        so that the stock pipeline class (`WanPipeline.from_pretrained(folder)`, ...) loads it too and, at
        m steps, samples the student's own sigmas. A LoRA student writes its adapters instead of transformer/
        and links nothing: the stock way is the teacher's pipeline plus `load_lora_weights(folder)`."""
        from accvideo.models.lora import save_student_weights

        pipe_dir = teacher.pipeline_dir
        folder.mkdir(parents=True, exist_ok=True)
        weights = save_student_weights(transformer, folder / "transformer", folder, relative_path(folder, teacher.path),
                                       cls.lora_loader)
        teacher.settings.for_student(sigmas, vae=relative_path(folder, pipe_dir / "vae"), backbone=cls.name,
                                     pipeline=relative_path(folder, pipe_dir), **weights).save(folder)
        scheduler = student_scheduler(sigmas) if cls.own_scheduler else None
        if scheduler is not None:
            scheduler.save_pretrained(folder / "scheduler")
        if not weights:
            link_pipeline_parts(folder, pipe_dir, scheduler)
        info = {**info, "stock_scheduler_samples_sigmas": scheduler is not None or not cls.own_scheduler}
        (folder / "training.json").write_text(json.dumps(info, indent=2, default=str))
        return folder

    @classmethod
    def stored_conditioning(cls, sample: dict[str, torch.Tensor], extra_fields: tuple[str, ...],
                            settings: SynVidSettings) -> tuple[Cond, Cond]:
        """text_* fields as the text (a dict when more than the states), the others (I2V condition latent,
        image tokens) as the condition, or None."""
        cond_keys = [k for k in extra_fields if not k.startswith("text_")]
        condition = {k: sample[k].float() for k in cond_keys} if cond_keys else None
        return stored_text(sample, extra_fields), condition

    def default_settings(self) -> SamplingSettings:
        """The pipeline folder's sampling settings."""
        return self.defaults(self.folder)

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """Raise ValueError unless the clip size suits the VAE and the transformer's patches."""
        self.check_sizes(self.vae_config, self.transformer.config, height, width, frames)

    def patch_size(self, transformer) -> tuple[int, int, int]:
        return self.patch(transformer.config)

    def noise_shape(self, height: int, width: int, frames: int) -> tuple[int, int, int, int]:
        s, t, c = self.vae_factors(self.vae_config)
        return (c, 1 + (frames - 1) // t, height // s, width // s)

    def _encode_new(self, prompts: list[str]) -> Cond:
        raise NotImplementedError

    @torch.no_grad()
    def encode_text(self, prompts: list[str]) -> Cond:
        """Encode prompts with the pipeline's own encode_prompt path; each prompt is computed once."""
        from accvideo.backbones.conditioning import rows, stack, to

        new = list(dict.fromkeys(p for p in prompts if p not in self._text_cache))
        if new:
            for p, row in zip(new, rows(to(self._encode_new(new), "cpu"), len(new))):
                self._text_cache[p] = row
        return to(stack([self._text_cache[p] for p in prompts]), self.device)

    def image_features(self, images: np.ndarray, frames: int) -> dict[str, torch.Tensor]:
        raise ValueError(f"{self.name} is text-to-video only: it takes no first frame")

    def condition(self, features, shape: tuple[int, ...], present: torch.Tensor | None = None) -> Cond:
        """T2V backbones read no image conditioning."""
        if features is not None and (present is None or bool(present.any())):
            raise ValueError(f"{self.name} is text-to-video only: it takes no first frame")
        return None

    def timesteps(self, latents: torch.Tensor, sigma) -> torch.Tensor:
        """Diffusers' timestep t = 1000 sigma, one per sample (B,)."""
        return model_timesteps(sigma, latents.shape[0], latents.device)

    def feature_dim(self, transformer) -> int:
        return transformer.config.num_attention_heads * transformer.config.attention_head_dim

    def block_tokens(self, output) -> torch.Tensor:
        return output

    def encode_video(self, clips: np.ndarray) -> torch.Tensor:
        from accvideo.latents import encode_clips

        return encode_clips(self.vae, clips)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        from accvideo.latents import decode_latents

        return decode_latents(self.vae, latents)
