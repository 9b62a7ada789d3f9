"""A critic on decoded frames (ours, `--pixel-adv W`): real clips against the student's clean outputs, in pixels.

The heads of Eq. 8 read the teacher's features of latents, and a latent head on real clips (up to commit a91323c)
deformed outlines: what it told apart was not what the decoder draws. Here the student's clean output l^gen_{t'_0}
is decoded by the frozen VAE with its gradient kept, and a small 3D-convolutional critic tells those frames from
real clips decoded by the same VAE (so the VAE's own blur is on both sides and only what the student controls is
left to tell apart). The losses are Eq. 7's non-saturating pair; the critic has its own AdamW at the heads' lr.
"""

from __future__ import annotations

import torch
from torch import nn

from accvideo.distill.adversary import Discriminator
from accvideo.distill.losses import discriminator_loss, generator_loss
from accvideo.latents import decode_video


class PixelCritic(nn.Module):
    """Video (N, 3, F, H, W) in [-1, 1] -> patch logits (N, 1, F', H / 8, W / 8): three strided 3D convolutions."""

    def __init__(self, width: int = 32):
        super().__init__()

        def block(c_in: int, c_out: int, t_stride: int) -> list[nn.Module]:
            conv = nn.Conv3d(c_in, c_out, (3, 4, 4), stride=(t_stride, 2, 2), padding=(1, 1, 1))
            return [conv, nn.GroupNorm(min(8, c_out), c_out), nn.SiLU()]

        self.net = nn.Sequential(
            *block(3, width, 1),  # (N, w, F, H / 2, W / 2)
            *block(width, 2 * width, 2),  # (N, 2w, F / 2, H / 4, W / 4)
            *block(2 * width, 4 * width, 2),  # (N, 4w, F / 4, H / 8, W / 8)
            nn.Conv3d(4 * width, 1, 3, padding=1),  # (N, 1, F / 4, H / 8, W / 8)
        )

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.net(video)


class PixelAdversary(Discriminator):
    """The critic, its optimiser and the frozen VAE that carries latents to frames."""

    keys = ("critic", "opt")

    def __init__(self, acc, vae, lr: float, weight: float, grad_accum: int):
        self.weight, self.grad_accum = weight, grad_accum
        self.vae = vae.eval().requires_grad_(False)
        super().__init__(acc, PixelCritic().to(acc.device), lr)  # drawn from the global generator: after the heads

    def frames(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents (B, C, f, h, w) -> decoded video (B, 3, F, H, W), gradient kept."""
        return decode_video(self.vae, latents)

    def generator_loss(self, clean: torch.Tensor) -> torch.Tensor:
        """Eq. 7's generator side on the critic's logits for the student's decoded clean outputs, reduced."""
        return generator_loss(self.net(self.frames(clean))).mean()

    def backward(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        """Eq. 7's discriminator side on one micro-batch of real and the student's (detached) clean latents;
        weight x the loss is back-propagated into the critic. Returns its loss and mean logits."""
        with torch.no_grad():
            video = torch.cat([self.frames(real), self.frames(fake)])  # (2B, 3, F, H, W)
        real_logits, fake_logits = self.net(video).chunk(2)
        loss = discriminator_loss(real_logits, fake_logits).mean()
        self.acc.backward(self.weight * loss / self.grad_accum)
        return {"pixel_disc": loss.item(), "pixel_real": real_logits.mean().item(),
                "pixel_fake": fake_logits.mean().item()}
