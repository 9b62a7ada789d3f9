"""Few- and many-step samplers: the plain Euler solver of Eq. 5 over any sigma list, with optional CFG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from accvideo.schedules import euler_step

VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]  # (latent (B, C, F, h, w), sigma) -> velocity


@dataclass
class SampleResult:
    """The clean latent, the number of model evaluations, and optionally every intermediate latent."""

    latent: torch.Tensor  # (B, C, F, h, w) at sigma = 0
    nfe: int  # transformer evaluations (a CFG step with a batched pair counts 2)
    trajectory: list[torch.Tensor] | None = None  # len(sigmas) latents, trajectory[0] = the noise


def cfg_velocity(model_fn: Callable[[torch.Tensor, float, bool], torch.Tensor], guidance: float) -> VelocityFn:
    """Classifier-free guidance: v = v_uncond + g (v_cond - v_uncond); g = 1 means no guidance."""

    def fn(latent: torch.Tensor, sigma: float) -> torch.Tensor:
        if guidance == 1.0:
            return model_fn(latent, sigma, True)
        v_cond = model_fn(latent, sigma, True)
        v_uncond = model_fn(latent, sigma, False)
        return v_uncond + guidance * (v_cond - v_uncond)

    return fn


def guided_velocity(velocity, transformer, text, uncond, condition, guidance: float) -> VelocityFn:
    """cfg_velocity over a backbone's `velocity(transformer, latent, sigma, text, condition)`: the prompt's
    text against the empty prompt's `uncond`, the same image condition for both."""

    def model_fn(latent: torch.Tensor, sigma: float, conditional: bool) -> torch.Tensor:
        return velocity(transformer, latent, sigma, text if conditional else uncond, condition)

    return cfg_velocity(model_fn, guidance)


def sample_euler(velocity_fn: VelocityFn, noise: torch.Tensor, sigmas: torch.Tensor, nfe_per_step: int = 1,
                 return_trajectory: bool = False, progress: bool = False) -> SampleResult:
    """Integrate Eq. 5 from noise at sigmas[0] to sigmas[-1]; the latent after step j lies at sigmas[j + 1]."""
    latent = noise
    trajectory = [noise] if return_trajectory else None
    steps = range(len(sigmas) - 1)
    for j in tqdm(steps, desc="denoise", leave=False, disable=not progress):
        sigma, sigma_next = float(sigmas[j]), float(sigmas[j + 1])
        latent = euler_step(latent, velocity_fn(latent, sigma), sigma, sigma_next)  # Eq. 5
        if trajectory is not None:
            trajectory.append(latent)
    return SampleResult(latent=latent, nfe=nfe_per_step * (len(sigmas) - 1), trajectory=trajectory)
