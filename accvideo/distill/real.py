"""Real clips on the heads' real side (ours, after DMD2's GAN term on real data).

Algorithm 1 gives each head H_k SynVid's l'_{t'_k} as real, so at best the student copies its teacher, lumps
included. With --real-videos DIR (a user's videos) or --real-videos shapes:N (rendered Shapes-world clips), the real
side is instead a real clip's VAE latent x_0 carried to t'_k by the flow operation of Sec. 3.1,
x_{t'_k} = (1 - t'_k) x_0 + t'_k eps, with its own caption and (for a seeded share) its own first frame.
The clips are encoded once into `OUT/real-clips` (accvideo.synvid.real), which --resume reuses.
"""

from __future__ import annotations

from pathlib import Path

import torch

from accvideo.backbones import conditioning
from accvideo.schedules import forward_diffuse
from accvideo.synvid.dataset import SynVidDataset, SynVidError
from accvideo.training.loop import step_generator

REAL_STREAM = 15485863  # seed offset of the real clips' draws: never a SynVid batch's
REAL_FOLDER = "real-clips"  # the encoded set, inside the run folder
REAL_I2V_FRACTION = 0.5  # share of the real clips that condition on their own first frame, as the SynVid's


def prepare_real_clips(cfg, teacher, out: Path, options=None) -> Path:
    """Encode cfg's real clips (--real-videos) into out/real-clips once; returns the folder."""
    from accvideo.synvid.real import encode_real_clips

    return encode_real_clips(teacher, *cfg.real_source(), REAL_I2V_FRACTION, out / REAL_FOLDER,
                             cfg.seed, options=options)


class RealClips:
    """Seeded batches of real clips at a key timestep: step s on rank r always draws the same clips and noise."""

    def __init__(self, root: str | Path, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 holdout: int = 0, verify: bool = True):
        self.dataset = SynVidDataset(root, verify=verify)
        if self.dataset.settings.keep != "clean":
            raise SynVidError(f"{root} is not a set of real clips (keep {self.dataset.settings.keep!r})")
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.n_train = len(self.dataset) - holdout  # the last `holdout` clips are kept for the heads' check
        if batch_size * world > self.n_train:
            raise ValueError(f"batch {batch_size} x {world} processes exceeds the {self.n_train} real clips")

    def __call__(self, step: int, sigma: float) -> tuple[torch.Tensor, object, object]:
        """(latents (B, C, f, h, w) at sigma, text, condition) of step `step`'s real clips."""
        gen = step_generator(self.seed + REAL_STREAM, step, self.rank)
        ids = torch.randperm(self.n_train, generator=gen)[: self.batch_size].tolist()
        return self.at(ids, sigma, gen)

    def held_out(self) -> list[int]:
        """The held-out clips' indices."""
        return list(range(self.n_train, len(self.dataset)))

    def held_out_batches(self, sigma: float, seed: int, batch_size: int):
        """The held-out clips carried to sigma, batch by batch, with the same noise at every call."""
        gen = torch.Generator().manual_seed(seed)
        held = self.held_out()
        for start in range(0, len(held), batch_size):
            yield self.at(held[start : start + batch_size], sigma, gen)

    def at(self, ids: list[int], sigma: float, gen: torch.Generator) -> tuple[torch.Tensor, object, object]:
        """The given clips' latents carried to sigma with noise drawn from gen, their text and condition."""
        items = [self.dataset.item(i) for i in ids]
        x0 = torch.stack([it["latents"][0] for it in items])  # (B, C, f, h, w)
        eps = torch.randn(x0.shape, generator=gen)
        latent = forward_diffuse(x0, eps, torch.full((len(ids),), float(sigma)))
        return (latent, conditioning.stack([it["text_states"] for it in items]),
                conditioning.stack([it["condition"] for it in items]))
