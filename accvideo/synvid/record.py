"""Record teacher trajectories (Eq. 5 with CFG) and keep the latents at the key timesteps."""

from __future__ import annotations

import numpy as np
import torch

from accvideo.schedules import flow_sigmas
from accvideo.synvid.settings import kept_indices
from accvideo.synvid.sources import SampleRequest


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
    text = generator.encode_text(prompts)
    uncond = generator.encode_text([""] * len(requests)) if guidance != 1.0 else text
    noise = generator.noise([r.seed for r in requests], height, width, frames)  # (B, C, f, h, w)
    present, first, condition = first_frame_condition(generator, requests, tuple(noise.shape), frames)
    result = generator.denoise(noise, text, uncond, sigmas, guidance, return_trajectory=True, condition=condition)
    traj = torch.stack([result.trajectory[i] for i in keep_idx], dim=1).float().cpu()  # (B, K, C, f, h, w)
    return [{"latents": traj[b].contiguous(), **stored_fields(text, condition, b),
             "first_latent": first[b].contiguous(), "i2v": present[b : b + 1].to(torch.uint8)}
            for b in range(len(requests))]


def first_frame_condition(generator, requests: list[SampleRequest], shape: tuple[int, ...],
                          frames: int) -> tuple[torch.Tensor, torch.Tensor, object]:
    """The requests' I2V conditioning for latents of `shape` (B, C, f, h, w): which have a first frame (B,), the
    miniature's first-frame latents (B, C, 1, h, w) (zeros for T2V samples), and the backbone's condition."""
    present = torch.tensor([r.image is not None for r in requests])
    first = torch.zeros(len(requests), shape[1], 1, *shape[3:])
    features = None
    if present.any():
        images = np.stack([r.image for r in requests if r.image is not None])
        features = generator.encode_first_frames(images, frames)
        if isinstance(features, torch.Tensor):  # the miniature's first-frame latents, zeros for T2V samples
            first[present] = features.float()
            features = first
    return present, first, generator.backbone.condition(features, shape, present)


@torch.no_grad()
def record_clean(generator, requests: list[SampleRequest], frames: int) -> list[dict[str, torch.Tensor]]:
    """Encode each request's real clip (no teacher run): one tensor dict per sample in record_batch's layout,
    `latents` (1, C, f, h, w) the clip's VAE latent at sigma 0."""
    clips = np.stack([r.clip for r in requests])  # (B, F, H, W, 3) uint8
    latents = generator.backbone.encode_video(clips).float().cpu()  # (B, C, f, h, w)
    text = generator.encode_text([r.prompt for r in requests])
    present, first, condition = first_frame_condition(generator, requests, tuple(latents.shape), frames)
    return [{"latents": latents[b : b + 1].contiguous(), **stored_fields(text, condition, b),
             "first_latent": first[b].contiguous(), "i2v": present[b : b + 1].to(torch.uint8)}
            for b in range(len(requests))]


def stored_fields(text, condition, b: int) -> dict[str, torch.Tensor]:
    """Sample b's conditioning as SynVid stores it: `text_states` (L, D) in fp16, and a diffusers backbone's
    other fields (text mask, pooled vector, I2V condition latent, image tokens) under their own names.
    The miniature's tensor condition is not stored: it is rebuilt from `first_latent`."""
    text = text if isinstance(text, dict) else {"text_states": text}
    extra = condition if isinstance(condition, dict) else {}
    out = {}
    for name, t in {**text, **extra}.items():
        row = t[b].detach().cpu()
        if name in ("text_states", "text_pooled", "image_embeds"):
            row = row.half()
        elif row.is_floating_point():
            row = row.float()
        out[name] = row.contiguous()
    return out
