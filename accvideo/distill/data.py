"""Batches of key latents for distillation, read from SynVid at the run's key timesteps."""

from __future__ import annotations

from pathlib import Path

import torch

from accvideo.backbones import conditioning
from accvideo.distill.config import DistillConfig
from accvideo.schedules import TEACHER_STEPS
from accvideo.synvid.dataset import SynVidDataset
from accvideo.training.loop import step_generator


def schedule_indices(dataset_sigmas: torch.Tensor, m: int, schedule: str, every_step: bool = False) -> list[int]:
    """Indices into a dataset's stored sigmas for the m + 1 key timesteps of a schedule.

    "accvideo": the stored key timesteps themselves (every n/m-th teacher step); needs exactly m + 1 of them,
    a multiple, or a dataset that stores every teacher step (`every_step`: recorded with `--keep all`), from
    which any m takes the points at j n / m steps, rounded half up (schedules.any_key_indices). "uniform"
    (Table 4 ablation): the stored points nearest to 1, 1 - 1/m, ..., 0, which needs a `--keep all` dataset.
    """
    from accvideo.schedules import any_key_indices

    n_stored = len(dataset_sigmas)
    if schedule == "accvideo":
        if every_step or (n_stored - 1) % m == 0:  # m + 1 stored points included
            return any_key_indices(n_stored - 1, m)
        raise ValueError(f"the dataset stores {n_stored} key points, which do not hold {m} equal key intervals; "
                         "record it with --keep all for any number of student steps")
    if schedule == "uniform":
        if n_stored <= m + 1:
            raise ValueError("the uniform schedule needs a SynVid dataset recorded with --keep all")
        targets = torch.linspace(1.0, 0.0, m + 1)
        idx = [int((dataset_sigmas - t).abs().argmin()) for t in targets]
        if len(set(idx)) != len(idx):
            raise ValueError("the stored grid is too coarse for a uniform schedule")
        return idx
    raise ValueError(f"unknown schedule {schedule!r}")


def key_sigmas(config: DistillConfig, teacher=None, teacher_steps: int = TEACHER_STEPS) -> list[float]:
    """The key sigmas t'_m = 1 .. t'_0 = 0 of a distillation run, from its config; `teacher` is its ModelFolder
    when already open, `teacher_steps` the n of a real-data run's grid (runs before it was fixed recorded theirs)."""
    if config.data_kind == "real":
        from accvideo.backbones.registry import ModelFolder
        from accvideo.schedules import flow_sigmas, key_indices

        grid = flow_sigmas(teacher_steps, (teacher or ModelFolder.open(config.teacher)).settings.shift)
        return grid[key_indices(teacher_steps, student_steps(config.student_steps, None))].float().tolist()
    dataset = SynVidDataset(config.data, verify=False)
    m = student_steps(config.student_steps, dataset)
    return dataset.sigmas[dataset_key_indices(dataset, m, config.schedule)].float().tolist()


def read_ids(path: str) -> frozenset[int]:
    """Sample ids from a text file, one per line (blank lines and lines from # on are skipped)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as err:
        raise ValueError(f"cannot read the ids file {path}: {err.strerror}") from err
    ids = set()
    for number, line in enumerate(lines, 1):
        text = line.split("#")[0].strip()
        if text:
            if not text.isdigit():
                raise ValueError(f"{path}, line {number}: {text!r} is not a sample id")
            ids.add(int(text))
    return frozenset(ids)


def student_steps(requested: int | None, dataset: SynVidDataset | None) -> int:
    """A run's m: as asked (--student-steps), else its SynVid's own, else (the real-data baseline) the paper's 5."""
    from accvideo.schedules import STUDENT_STEPS

    return requested or (dataset.settings.student_steps if dataset is not None else STUDENT_STEPS)


def dataset_key_indices(dataset: SynVidDataset, m: int, schedule: str) -> list[int]:
    """schedule_indices for a SynVid dataset (any m when it stores every teacher step)."""
    return schedule_indices(dataset.sigmas, m, schedule, every_step=dataset.settings.keep == "all")


class KeyBatches:
    """Seeded batches: step s on rank r always reads the same samples, whatever was interrupted."""

    def __init__(self, dataset: SynVidDataset, m: int, schedule: str, batch_size: int, seed: int,
                 rank: int = 0, world: int = 1, holdout: int = 0, exclude: frozenset[int] = frozenset()):
        self.dataset = dataset
        self.idx = dataset_key_indices(dataset, m, schedule)
        self.sigmas = dataset.sigmas[self.idx]  # (m + 1,), from 1 down to 0: sigmas[m - k] = t'_k
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        self.n_train = len(dataset) - holdout  # the last `holdout` samples are never trained on
        outside = sorted(i for i in exclude if not 0 <= i < len(dataset))
        if outside:
            raise ValueError(f"excluded ids {outside[:5]} are not samples of {dataset.root} (0..{len(dataset) - 1})")
        self.pool = torch.tensor([i for i in range(self.n_train) if i not in exclude])  # the samples trained on
        if batch_size * world > len(self.pool):
            raise ValueError(f"batch {batch_size} x {world} processes exceeds the {len(self.pool)} training samples")

    def __call__(self, step: int, k: int | None = None) -> dict[str, torch.Tensor]:
        """latents (B, m + 1, C, f, h, w) with latents[:, m - k] at t'_k, text_states, condition (the backbone's
        conditioning batches, accvideo.backbones.conditioning)."""
        gen = step_generator(self.seed, step)
        perm = torch.randperm(len(self.pool), generator=gen)
        ids = self.pool[perm[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]].tolist()
        return self.samples(ids)

    def held_out(self) -> list[int]:
        """The held-out samples' indices."""
        return list(range(self.n_train, len(self.dataset)))

    def samples(self, ids: list[int]) -> dict[str, torch.Tensor]:
        """Key latents and conditioning of the given samples."""
        items = [self.dataset.item(i) for i in ids]
        return {"latents": torch.stack([it["latents"][self.idx] for it in items]),
                "text_states": conditioning.stack([it["text_states"] for it in items]),
                "condition": conditioning.stack([it["condition"] for it in items])}


class RealKeyBatches:
    """The Sec. 3.2 baseline ("real data + forward diffusion", Table 3): start points from forward
    diffusion of real (rendered, VAE-encoded) clips, targets from the teacher's own multi-step solution.

    For key interval k: l_{t'_{k+1}} = (1 - t'_{k+1}) x_0 + t'_{k+1} eps, and l_{t'_k} is the teacher's
    Euler solution (with CFG) from there over its n / m grid steps down to t'_k. Such start points need
    not lie on any teacher trajectory: the "useless data points" the paper avoids.
    """

    def __init__(self, data_path: str, backbone, m: int, teacher_steps: int, shift: float, guidance: float,
                 batch_size: int, seed: int, rank: int = 0, world: int = 1):
        from accvideo.schedules import flow_sigmas, key_indices
        from accvideo.training.teacher_data import load_teacher_data

        self.data = load_teacher_data(data_path)
        self.backbone = backbone  # a backbone that trains from teacher-data files; its transformer is the teacher
        grid = flow_sigmas(teacher_steps, shift)
        self.grid = grid
        self.key_idx = key_indices(teacher_steps, m)
        self.sigmas = grid[self.key_idx].float()
        self.teacher, self.m, self.guidance = backbone.transformer, m, guidance
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world

    def __call__(self, step: int, k: int | None = None) -> dict[str, torch.Tensor]:
        """Like KeyBatches, but only the entries for interval k (m - k - 1 and m - k) are meaningful."""
        from accvideo.sampling import guided_velocity, sample_euler
        from accvideo.schedules import forward_diffuse

        gen = step_generator(self.seed, step)
        n = len(self.data["latents"])
        ids = torch.randperm(n, generator=gen)[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        x0 = self.data["latents"][ids].float()
        backbone = self.backbone
        states = self.data["text_states"][ids].float()  # (B, L, D)
        text = backbone.text_from_states(states, self.data["world_mask"][ids].bool())
        present = torch.rand(len(ids), generator=gen) < 0.5
        cond = backbone.condition(self.data["first_latents"][ids].float(), tuple(x0.shape), present)
        uncond = backbone.text_from_states(self.data["empty_states"].float().expand_as(states),
                                           self.data["empty_mask"].bool().expand(states.shape[:2]))
        start, stop = self.key_idx[self.m - (k + 1)], self.key_idx[self.m - k]
        eps = torch.randn(x0.shape, generator=gen)
        latent = forward_diffuse(x0, eps, self.grid[start].float().expand(len(ids)))
        latents = torch.zeros(len(ids), self.m + 1, *x0.shape[1:])
        latents[:, self.m - (k + 1)] = latent
        fn = guided_velocity(backbone.velocity, self.teacher, text, uncond, cond, self.guidance)
        with torch.no_grad():  # the teacher's own solution over its grid (Eq. 5 with CFG)
            latents[:, self.m - k] = sample_euler(fn, latent, self.grid[start : stop + 1]).latent
        return {"latents": latents, "text_states": text, "condition": cond}
