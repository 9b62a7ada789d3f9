"""The trajectory view: the teacher's latents at the key timesteps beside the student's few steps (Sec. 4.2).

The student is trained to jump between the teacher's key timesteps t'_m > ... > t'_0 (every n/m-th point of
its n-step grid). Decoding both trajectories at those points shows where each of the student's shortcuts lands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from accvideo.schedules import key_indices

GAP = 2  # px of background between tiles of the grid


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
    indices = key_indices(n, m)
    latents = torch.cat([trajectory[i][:1] for i in indices])  # (m + 1, C, f, h, w)
    return latents, indices, [float(sigmas[i]) for i in indices]


def latent_rmse(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Per-point RMS distance of two stacks of latents (P, C, f, h, w) -> P floats."""
    return (a.float() - b.float()).pow(2).flatten(1).mean(1).sqrt().tolist()


def grid(panel: TrajectoryPanel, frame: int, scale: int = 1) -> np.ndarray:
    """One frame of every key point as a 2-row image: teacher on top, student below (uint8 (2H', P W', 3))."""
    rows = []
    for clips in (panel.teacher, panel.student):
        tiles = [clip[frame] for clip in clips]  # P x (H, W, 3)
        gap = np.full((tiles[0].shape[0], GAP, 3), 255, np.uint8)
        row = np.concatenate([part for tile in tiles for part in (tile, gap)][:-1], axis=1)
        rows.append(row)
    sep = np.full((GAP, rows[0].shape[1], 3), 255, np.uint8)
    image = np.concatenate([rows[0], sep, rows[1]], axis=0)
    return upscale(image, scale)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement (H, W, 3) -> (s H, s W, 3): keeps the Shapes world's hard edges."""
    return image if scale == 1 else image.repeat(scale, axis=0).repeat(scale, axis=1)


def describe(panel: TrajectoryPanel) -> str:
    """A markdown table: per key point, both sigmas and the latent distance."""
    lines = ["| key point | teacher step | teacher sigma | student sigma | latent RMSE |", "|---|---|---|---|---|"]
    for j in range(panel.points):
        lines.append(f"| {j} | {panel.teacher_indices[j]} | {panel.teacher_sigmas[j]:.4f} | "
                     f"{panel.student_sigmas[j]:.4f} | {panel.rmse[j]:.4f} |")
    return "\n".join(lines)
