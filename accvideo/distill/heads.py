"""Timestep-aware projection heads H_0 .. H_{m-1} of the discriminator (Eq. 8): small 2D CNNs over the
teacher's token grid, frames folded into the batch. A single shared head is the ablation."""

from __future__ import annotations

import torch
from torch import nn


HEAD_NORMS = ("group", "none")


class ProjectionHead(nn.Module):
    """Feature grid (N, D, h, w) -> per-location real/fake logits (N, 1, h', w').

    norm "group": GroupNorm after each hidden conv, which normalises every feature map on its own and so
    hides a global difference (contrast, scale) between real and fake; "none" keeps it.
    """

    def __init__(self, dim: int, width: int = 64, norm: str = "group"):
        super().__init__()
        if norm not in HEAD_NORMS:
            raise ValueError(f"unknown head norm {norm!r}; choose from {', '.join(HEAD_NORMS)}")

        def normalise() -> nn.Module:
            return nn.GroupNorm(min(8, width), width) if norm == "group" else nn.Identity()

        self.net = nn.Sequential(
            nn.Conv2d(dim, width, 3, padding=1), normalise(), nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2), normalise(), nn.SiLU(), nn.Conv2d(width, 1, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)  # (N, 1, ceil(h / 2), ceil(w / 2))


class Heads(nn.Module):
    """One head per key timestep index k in [0, m - 1], or one shared head (`single=True`, the ablation)."""

    def __init__(self, m: int, dim: int, width: int = 64, single: bool = False, norm: str = "group"):
        super().__init__()
        self.m = m
        self.single = single
        self.heads = nn.ModuleList([ProjectionHead(dim, width, norm) for _ in range(1 if single else m)])

    def forward(self, features: torch.Tensor, k: int) -> torch.Tensor:
        """Logits of head H_k (N, 1, h', w') for a feature grid (N, D, h, w)."""
        if not 0 <= k < self.m:
            raise IndexError(f"key timestep index {k} outside [0, {self.m})")
        return self.heads[0 if self.single else k](features)
