"""The resumable loop every trainer shares (teacher, VAE, distiller): seeded steps, clocks, checkpoints, EMA.

A step's random draws come from step_generator(seed, step), so a resumed run draws what the uninterrupted
one would have; TrainLoop runs steps start..end with a progress bar, counts wall and CPU time, and calls
the trainer's `save(step)` every `every` steps, at the end of the invocation (stop_at) and when a time
budget runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from tqdm.auto import tqdm

SEED_STRIDE = 1_000_003  # a prime: (seed, step) pairs of different runs do not collide for steps below it
MAX_RANKS = 64  # processes whose per-rank draws stay distinct


def step_generator(seed: int, step: int, rank: int | None = None) -> torch.Generator:
    """The torch.Generator of one training step: its draws depend only on (seed, step), or (seed, step, rank)
    for draws each process makes on its own."""
    base = seed * SEED_STRIDE + step
    return torch.Generator().manual_seed(base if rank is None else base * MAX_RANKS + rank)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (the schedules are pure functions of the step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


class TrainLoop:
    """Steps start..end of a run of `total` steps (end = stop_at when given), with a progress bar, wall and CPU
    clocks that continue the resumed run's, and checkpoints through `save(step)`.

    Iterating yields each step; after the body, the clocks advance and a checkpoint is written when due.
    `finished` says whether the whole run is done (so the trainer exports).
    """

    def __init__(self, start: int, total: int, save: Callable[[int], None], every: int, desc: str,
                 stop_at: int | None = None, elapsed: float = 0.0, cpu: float = 0.0,
                 max_minutes: float | None = None, disable: bool = False):
        self.total, self.end = total, min(total, stop_at or total)
        self.save, self.every, self.max_minutes = save, every, max_minutes
        self.elapsed, self.cpu = elapsed, cpu  # seconds of training, this run's earlier invocations included
        self.out_of_time = False
        self.bar = tqdm(range(start, self.end), initial=start, total=total, desc=desc, disable=disable)
        self._wall = self._proc = 0.0

    def _mark(self) -> None:
        self._wall, self._proc = time.perf_counter(), time.process_time()

    def _lap(self) -> None:
        wall, proc = time.perf_counter(), time.process_time()
        self.elapsed, self.cpu = self.elapsed + wall - self._wall, self.cpu + proc - self._proc
        self._wall, self._proc = wall, proc

    def __iter__(self) -> Iterator[int]:
        self._mark()
        for step in self.bar:
            yield step
            self._lap()
            self.out_of_time = self.max_minutes is not None and self.elapsed >= 60 * self.max_minutes
            if (step + 1) % self.every == 0 or step + 1 == self.end or self.out_of_time:
                self.save(step + 1)
            if self.out_of_time:
                break
        self.bar.close()

    @contextmanager
    def untimed(self):
        """A stretch that is not training (an evaluation): the clocks count up to it, and not through it."""
        self._lap()
        try:
            yield
        finally:
            self._mark()

    @property
    def finished(self) -> bool:
        """Whether the run reached its last step (not stopped at stop_at or by the time budget)."""
        return self.end == self.total and not self.out_of_time

    def show(self, **values) -> None:
        """Numbers beside the progress bar."""
        self.bar.set_postfix(**values)

    def write(self, line: str) -> None:
        """A line above the progress bar."""
        self.bar.write(line)
