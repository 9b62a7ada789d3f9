"""The distillation losses, each an unreduced per-element (or per-logit) callable; the trainer reduces."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def chord_velocity(l_k: torch.Tensor, l_k1: torch.Tensor, t_k: torch.Tensor, t_k1: torch.Tensor) -> torch.Tensor:
    """(l_{t'_k} - l_{t'_{k+1}}) / (t'_k - t'_{k+1}): the straight path between two key latents (Eq. 6)."""
    dt = (t_k - t_k1).view(-1, *([1] * (l_k.dim() - 1))).to(l_k.dtype)
    return (l_k - l_k1) / dt


def trajectory_loss(student_velocity: torch.Tensor, l_k: torch.Tensor, l_k1: torch.Tensor, t_k: torch.Tensor,
                    t_k1: torch.Tensor) -> torch.Tensor:
    """Eq. 6: || s_beta(l_{t'_{k+1}}, t'_{k+1}) - (l_{t'_k} - l_{t'_{k+1}}) / (t'_k - t'_{k+1}) ||^2, unreduced."""
    return (student_velocity.float() - chord_velocity(l_k.float(), l_k1.float(), t_k, t_k1)).square()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7, discriminator side: max log D(real) + log(1 - D(fake)), as a loss to minimise, unreduced.

    With logits D = sigmoid(logit): -log sigmoid(real) - log(1 - sigmoid(fake)) = softplus(-real) + softplus(fake).
    """
    return torch.cat([F.softplus(-real_logits).flatten(), F.softplus(fake_logits).flatten()])


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7, generator side (non-saturating form): -log D(fake) = softplus(-fake), unreduced."""
    return F.softplus(-fake_logits).flatten()
