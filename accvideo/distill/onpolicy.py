"""Eq. 6 on the student's own latents (ours, `--onpolicy`): the teacher's solution from where the student is.

Algorithm 1's trajectory loss only visits the teacher's recorded latents l'_{t'_{k+1}}; at sampling time the
student starts each step from its own previous output. The latent queues already hold such latents
(l^gen_{t'_{k+1}}, with their prompts and conditions). From one of them the frozen teacher solves Eq. 5 with
CFG down to t'_k over its own grid, exactly as SynVid does from noise; Eq. 6 then pulls the student's velocity
there onto that chord. Fresh noise enters the queues every iteration, so these start points are never repeated.
"""

from __future__ import annotations

import torch

from accvideo.backbones import conditioning
from accvideo.sampling import guided_velocity, sample_euler
from accvideo.schedules import any_key_indices

STEPS = 2  # the teacher's Euler steps per solution (at most the grid steps of the interval)


class TeacherSolver:
    """The teacher's Euler solution with CFG (Eq. 5) between two points of its n-step grid, from any latent."""

    def __init__(self, backbone, teacher, grid: torch.Tensor, guidance: float, uncond_text, steps: int = STEPS):
        self.backbone, self.teacher, self.grid, self.guidance = backbone, teacher, grid.double(), guidance
        self.uncond, self.steps = uncond_text, steps  # uncond: the empty prompt's text, a batch of one

    def grid_index(self, sigma: float) -> int:
        """The teacher grid point at `sigma` (a key timestep lies on the grid)."""
        gaps = (self.grid - sigma).abs()
        i = int(gaps.argmin())
        if gaps[i] > 1e-5:
            raise ValueError(f"sigma {sigma:.6f} is not on the teacher's {len(self.grid) - 1}-step grid")
        return i

    def sigmas(self, t_from: float, t_to: float) -> torch.Tensor:
        """The sub-grid of at most `steps` Euler steps from t_from to t_to, on the teacher's own points."""
        i0, i1 = self.grid_index(t_from), self.grid_index(t_to)
        return self.grid[[i0 + j for j in any_key_indices(i1 - i0, min(self.steps, i1 - i0))]]

    @torch.no_grad()
    def __call__(self, latent: torch.Tensor, t_from: float, t_to: float, text, condition) -> torch.Tensor:
        """The teacher's latent at t_to from `latent` at t_from (same prompts and conditions)."""
        uncond = conditioning.select(self.uncond, torch.zeros(len(latent), dtype=torch.long))
        fn = guided_velocity(self.backbone.velocity, self.teacher, text, uncond, condition, self.guidance)
        return sample_euler(fn, latent, self.sigmas(t_from, t_to)).latent
