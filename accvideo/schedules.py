"""Noise schedules of flow matching (Sec. 3.1), its loss (Eq. 3) and the Euler step of Eq. 5: pure functions.

One function builds the sigma grid for any number of steps; the 50-step teacher and the 5-step
student both use it. sigma = 1 is pure Gaussian noise, sigma = 0 the clean latent (x_t = (1 - t) x_0 + t x_1).
"""

from __future__ import annotations

import torch

TEACHER_STEPS = 50  # n, the teacher's number of inference steps (paper Sec. 4.1)
STUDENT_STEPS = 5  # m, the student's number of steps and key timesteps (paper Sec. 4.2)
SHIFT = 7.0  # HunyuanVideo's flow shift; with n = 50 and m = 5 it gives the paper's key timesteps
TIMESTEP_SCALE = 1000.0  # diffusers transformers take t * 1000
PAPER_KEY_TIMESTEPS = (1.0, 0.9651, 0.9130, 0.8235, 0.6363, 0.0)  # t'_5 .. t'_0 as the paper prints them (Sec. 4.2)


def model_timesteps(sigma: torch.Tensor | float, batch: int, device: torch.device) -> torch.Tensor:
    """Diffusers' timestep t = 1000 sigma (float32), one per sample (B,), from a scalar sigma or one per sample."""
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=device)
    return (sigma * TIMESTEP_SCALE).expand(batch) if sigma.ndim == 0 else sigma * TIMESTEP_SCALE


def shift_sigmas(s: torch.Tensor, shift: float) -> torch.Tensor:
    """Time shift of SD3 / HunyuanVideo: shift * s / (1 + (shift - 1) * s)."""
    return shift * s / (1 + (shift - 1) * s)


def flow_sigmas(n: int, shift: float = SHIFT) -> torch.Tensor:
    """The shifted flow-matching grid: n + 1 sigmas from 1 down to 0 (float64, shape (n + 1,))."""
    if n < 1:
        raise ValueError(f"need at least one step, got {n}")
    return shift_sigmas(torch.linspace(1.0, 0.0, n + 1, dtype=torch.float64), shift)


def key_indices(n: int, m: int) -> list[int]:
    """Indices of the m + 1 key timesteps in an n-step grid: every (n / m)-th point."""
    if n % m:
        raise ValueError(f"the teacher's steps ({n}) must be a multiple of the student's ({m})")
    return any_key_indices(n, m)


def any_key_indices(n: int, m: int) -> list[int]:
    """Indices of m + 1 key timesteps in an n-step grid for any m from 1 to n (the step-count sweep): the points at
    j n / m steps, rounded half up where n is not a multiple of m (n = 50, m = 3: 0, 17, 33, 50); the paper's
    every (n / m)-th point where it is."""
    if not 1 <= m <= n:
        raise ValueError(f"the student's steps must be from 1 to the teacher's {n}, got {m}")
    return [(2 * j * n + m) // (2 * m) for j in range(m + 1)]


def key_timesteps(sigmas: torch.Tensor, m: int) -> torch.Tensor:
    """The m + 1 key timesteps t'_m = 1 > ... > t'_0 = 0 picked from a teacher grid (Sec. 4.2)."""
    return sigmas[key_indices(len(sigmas) - 1, m)]


def uniform_key_timesteps(m: int) -> torch.Tensor:
    """The ablation's uniform grid of m + 1 timesteps from 1 to 0 (Table 4)."""
    return torch.linspace(1.0, 0.0, m + 1, dtype=torch.float64)


def euler_step(latent: torch.Tensor, velocity: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """Eq. 5: l_{t_{j-1}} = l_{t_j} + (t_{j-1} - t_j) v(l_{t_j}, t_j), computed in float32."""
    out = latent.float() + (sigma_next - sigma) * velocity.float()
    return out.to(latent.dtype)


def train_timesteps(batch: int, generator: torch.Generator, shift: float = SHIFT) -> torch.Tensor:
    """Training sigmas for flow matching (Eq. 3): uniform u, then the sampling grid's shift (shape (B,))."""
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    return shift_sigmas(u, shift).float()


def forward_diffuse(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The flow operation of Sec. 3.1: x_t = (1 - t) x_0 + t x_1, with sigma (B,) broadcast over x0's dims."""
    s = sigma.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1 - s) * x0 + s * noise


def flow_matching_loss(v_pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 3: || v_theta(x_t, t) - (x_1 - x_0) ||^2 per element, unreduced, in float32 (x_1 = noise)."""
    return (v_pred.float() - (noise - x0).float()).square()
