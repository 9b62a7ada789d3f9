"""Record teacher trajectories (Eq. 5 with CFG) and keep the latents at the key timesteps."""

from __future__ import annotations

import numpy as np
import torch

from accvideo.schedules import flow_sigmas, key_indices
from accvideo.synvid.sources import SampleRequest


def kept_indices(teacher_steps: int, student_steps: int, keep: str) -> list[int]:
    """Which points of the n + 1 point trajectory are stored: the m + 1 key ones, or all."""
    if keep == "key":
        return key_indices(teacher_steps, student_steps)
    if keep == "all":
        return list(range(teacher_steps + 1))
    raise ValueError(f"--keep must be key or all, got {keep!r}")


@torch.no_grad()
def record_batch(generator, requests: list[SampleRequest], teacher_steps: int, student_steps: int,
                 guidance: float, shift: float, keep: str, height: int, width: int,
                 frames: int) -> list[dict[str, torch.Tensor]]:
    """Run the teacher's n-step Euler sampler with CFG from each request's noise; one tensor dict per sample.

    Each dict holds `latents` (K, C, f, h, w): the trajectory l_{t_n} (noise) ... l_{t_0} at the kept
    indices (Eq. 5), `text_states` (L, D), `first_latent` (C, 1, h, w) (zeros for T2V) and `i2v` (1,).
    """
    sigmas = flow_sigmas(teacher_steps, shift)
    keep_idx = kept_indices(teacher_steps, student_steps, keep)
    prompts = [r.prompt for r in requests]
    text = generator.text_encoder(prompts).states
    uncond = generator.text_encoder([""] * len(requests)).states
    noise = generator.noise([r.seed for r in requests], height, width, frames)  # (B, C, f, h, w)
    present = torch.tensor([r.image is not None for r in requests])
    first = torch.zeros(len(requests), noise.shape[1], 1, *noise.shape[3:])
    if present.any():
        images = np.stack([r.image for r in requests if r.image is not None])
        first[present] = generator.encode_first_frames(images).float()
    result = generator.denoise(noise, text, uncond, sigmas, guidance, first if present.any() else None,
                               return_trajectory=True, present=present)
    traj = torch.stack([result.trajectory[i] for i in keep_idx], dim=1).float().cpu()  # (B, K, C, f, h, w)
    return [{"latents": traj[b].contiguous(), "text_states": text[b].half().contiguous(),
             "first_latent": first[b].contiguous(), "i2v": present[b : b + 1].to(torch.uint8)}
            for b in range(len(requests))]
