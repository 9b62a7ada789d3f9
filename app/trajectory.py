"""The trajectory view: the teacher's latents at the key timesteps beside the student's few steps (Sec. 4.2).

The student is trained to jump between the teacher's key timesteps t'_m > ... > t'_0 (every n/m-th point of
its n-step grid, rounded where m does not divide n). Decoding both trajectories at those points shows where
each of the student's shortcuts lands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from accvideo.analysis import GAP, tile, upscale
from accvideo.schedules import any_key_indices


@dataclass
class TrajectoryPanel:
    """Both trajectories at the m + 1 key points, decoded; index 0 is the noise, index m the clean clip."""

    teacher: np.ndarray  # uint8 (m + 1, F, H, W, 3): teacher latents at its key timesteps, decoded
    student: np.ndarray  # uint8 (m + 1, F, H, W, 3): the student's latent before / after each step, decoded
    teacher_indices: list[int]  # positions of the key points in the teacher's n-step grid
    teacher_sigmas: list[float]  # sigma of each teacher key point
    student_sigmas: list[float]  # sigma of each student point
    rmse: list[float]  # RMS distance between the two latents at each key point

    @property
    def points(self) -> int:
        """m + 1."""
        return len(self.teacher_indices)


def key_latents(trajectory: list[torch.Tensor], sigmas: torch.Tensor,
                m: int) -> tuple[torch.Tensor, list[int], list[float]]:
    """A batch-1 n-step trajectory -> its m + 1 key latents (m + 1, C, f, h, w), their indices and sigmas."""
    n = len(trajectory) - 1
    indices = any_key_indices(n, m)  # every (n / m)-th point; rounded where m does not divide n
    latents = torch.cat([trajectory[i][:1] for i in indices])  # (m + 1, C, f, h, w)
    return latents, indices, [float(sigmas[i]) for i in indices]


def latent_rmse(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Per-point RMS distance of two stacks of latents (P, C, f, h, w) -> P floats."""
    return (a.float() - b.float()).pow(2).flatten(1).mean(1).sqrt().tolist()


def grid(panel: TrajectoryPanel, frame: int, scale: int = 1) -> np.ndarray:
    """One frame of every key point as a 2-row image: teacher on top, student below (uint8 (2H', P W', 3))."""
    rows = np.stack([panel.teacher[:, frame], panel.student[:, frame]])  # (2, P, H, W, 3)
    return upscale(tile(rows, GAP), scale)


def describe(panel: TrajectoryPanel) -> str:
    """A markdown table: per key point, both sigmas and the latent distance."""
    lines = ["| key point | teacher step | teacher sigma | student sigma | latent RMSE |", "|---|---|---|---|---|"]
    for j in range(panel.points):
        lines.append(f"| {j} | {panel.teacher_indices[j]} | {panel.teacher_sigmas[j]:.4f} | "
                     f"{panel.student_sigmas[j]:.4f} | {panel.rmse[j]:.4f} |")
    return "\n".join(lines)
