"""Batches of key latents for distillation, read from SynVid at the run's key timesteps."""

from __future__ import annotations

import torch

from accvideo.synvid.dataset import SynVidDataset


def schedule_indices(dataset_sigmas: torch.Tensor, m: int, schedule: str) -> list[int]:
    """Indices into a dataset's stored sigmas for the m + 1 key timesteps of a schedule.

    "accvideo": the stored key timesteps themselves (every n/m-th teacher step); needs exactly m + 1 of them
    or a `--keep all` dataset. "uniform" (Table 4 ablation): the stored points nearest to 1, 1 - 1/m, ..., 0,
    which needs a `--keep all` dataset.
    """
    n_stored = len(dataset_sigmas)
    if schedule == "accvideo":
        if n_stored == m + 1:
            return list(range(m + 1))
        if (n_stored - 1) % m == 0:
            return list(range(0, n_stored, (n_stored - 1) // m))
        raise ValueError(f"the dataset stores {n_stored} points, which do not hold {m} equal key intervals")
    if schedule == "uniform":
        if n_stored <= m + 1:
            raise ValueError("the uniform schedule needs a SynVid dataset recorded with --keep all")
        targets = torch.linspace(1.0, 0.0, m + 1)
        idx = [int((dataset_sigmas - t).abs().argmin()) for t in targets]
        if len(set(idx)) != len(idx):
            raise ValueError("the stored grid is too coarse for a uniform schedule")
        return idx
    raise ValueError(f"unknown schedule {schedule!r}")


class KeyBatches:
    """Seeded batches: step s on rank r always reads the same samples, whatever was interrupted."""

    def __init__(self, dataset: SynVidDataset, m: int, schedule: str, batch_size: int, seed: int,
                 rank: int = 0, world: int = 1):
        self.dataset = dataset
        self.idx = schedule_indices(dataset.sigmas, m, schedule)
        self.sigmas = dataset.sigmas[self.idx]  # (m + 1,), from 1 down to 0: sigmas[m - k] = t'_k
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        if batch_size * world > len(dataset):
            raise ValueError(f"batch {batch_size} x {world} processes exceeds the {len(dataset)} samples")

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        """latents (B, m + 1, C, f, h, w) with latents[:, m - k] at t'_k, text_states, condition."""
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        perm = torch.randperm(len(self.dataset), generator=gen)
        ids = perm[self.rank * self.batch_size : (self.rank + 1) * self.batch_size].tolist()
        items = [self.dataset[i] for i in ids]
        return {"latents": torch.stack([it["latents"][self.idx] for it in items]),
                "text_states": torch.stack([it["text_states"] for it in items]),
                "condition": torch.stack([it["condition"] for it in items])}
