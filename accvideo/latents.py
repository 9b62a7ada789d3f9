"""Pixels <-> normalised latents through a video VAE (ours or AutoencoderKLWan: both carry latents_mean/std)."""

from __future__ import annotations

import numpy as np
import torch


def to_model_space(clips: np.ndarray) -> torch.Tensor:
    """uint8 (B, F, H, W, 3) -> float (B, 3, F, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.require(clips, requirements=["C", "W"])).float().div(127.5).sub(1.0)
    return x.permute(0, 4, 1, 2, 3).contiguous()


def to_pixels(video: torch.Tensor) -> np.ndarray:
    """float (B, 3, F, H, W) in [-1, 1] -> uint8 (B, F, H, W, 3)."""
    x = video.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def _stats(vae, ndim: int) -> tuple[torch.Tensor, torch.Tensor]:
    mean = getattr(vae.config, "latents_mean", None)
    std = getattr(vae.config, "latents_std", None)
    if mean is None or std is None:
        return torch.zeros(1), torch.ones(1)
    shape = (1, -1) + (1,) * (ndim - 2)
    return torch.tensor(mean).view(shape), torch.tensor(std).view(shape)


@torch.no_grad()
def encode_clips(vae, clips: np.ndarray, batch_size: int = 16) -> torch.Tensor:
    """uint8 clips (B, F, H, W, 3) -> normalised posterior-mean latents (B, C, 1 + (F - 1) / 4, h, w)."""
    out = []
    for i in range(0, len(clips), batch_size):
        x = to_model_space(clips[i : i + batch_size]).to(vae.device, vae.dtype)
        z = vae.encode(x).latent_dist.mode().float().cpu()  # (b, C, f, h, w)
        mean, std = _stats(vae, z.ndim)
        out.append((z - mean) / std)
    return torch.cat(out)


def decode_video(vae, latents: torch.Tensor) -> torch.Tensor:
    """Normalised latents (B, C, f, h, w) -> float video (B, 3, 1 + 4 (f - 1), H, W), about [-1, 1], on the
    latents' device; differentiable in the latents (the VAE's own weights stay as they are)."""
    mean, std = (s.to(latents.device) for s in _stats(vae, latents.ndim))
    z = latents.float() * std + mean
    return vae.decode(z.to(vae.device, vae.dtype)).sample.to(latents.device)


@torch.no_grad()
def decode_latents(vae, latents: torch.Tensor) -> np.ndarray:
    """Normalised latents (B, C, f, h, w) -> uint8 clips (B, 1 + 4 (f - 1), H, W, 3)."""
    return to_pixels(decode_video(vae, latents.cpu()))
