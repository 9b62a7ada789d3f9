"""Latent queues Q_0 .. Q_m of Algorithm 1 (lines 11-17): the student's own latents at each key timestep.

Q_m receives fresh Gaussian noise; Q_{k} receives one student Euler step from a latent popped off
Q_{k+1}. Each entry keeps its conditioning (text states and I2V condition), so the discriminator and
the next step see the prompt the latent belongs to. Queues are FIFO and bounded: when full, the
oldest entries are dropped. They live on the training device and are part of the checkpoint.
"""

from __future__ import annotations

from collections import deque

import torch

from accvideo.backbones import conditioning

ENTRY_FIELDS = ("latent", "text_states", "condition")


def _stacked(rows: list) -> tuple:
    """Queue rows -> one batch each of latents, text states and conditions."""
    latents, texts, conds = zip(*rows)
    return torch.stack(latents), conditioning.stack(list(texts)), conditioning.stack(list(conds))


class LatentQueues:
    """m + 1 bounded FIFO queues of (latent, text_states, condition) rows."""

    def __init__(self, m: int, capacity: int):
        if capacity < 1:
            raise ValueError("queue capacity must be at least 1")
        self.m = m
        self.capacity = capacity
        self.queues: list[deque] = [deque() for _ in range(m + 1)]

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues)

    def size(self, k: int) -> int:
        """Entries in Q_k."""
        return len(self.queues[k])

    def push(self, k: int, latent: torch.Tensor, text_states, condition) -> None:
        """Append a batch (B, ...) to Q_k, detached, one entry per row; drop the oldest past capacity.

        text_states and condition are the backbone's conditioning batches (tensors, dicts of them, or None).
        """
        n = latent.shape[0]
        for row in zip(latent.detach(), conditioning.rows(text_states, n), conditioning.rows(condition, n)):
            self.queues[k].append(row)
        while len(self.queues[k]) > self.capacity:
            self.queues[k].popleft()

    def pop(self, k: int, n: int) -> tuple:
        """Remove the n oldest entries of Q_k, stacked: latent, text_states, condition."""
        if len(self.queues[k]) < n:
            raise IndexError(f"Q_{k} holds {len(self.queues[k])} entries, {n} requested")
        return _stacked([self.queues[k].popleft() for _ in range(n)])

    def sample(self, k: int, n: int, generator: torch.Generator) -> tuple:
        """n entries of Q_k drawn at random (with replacement), stacked like pop(), without removing them."""
        if not self.queues[k]:
            raise IndexError(f"Q_{k} is empty")
        picks = torch.randint(len(self.queues[k]), (n,), generator=generator)
        return _stacked([self.queues[k][int(i)] for i in picks])

    def peek(self, k: int) -> torch.Tensor | None:
        """All latents of Q_k stacked (oldest first), without removing them; None when empty."""
        return torch.stack([row[0] for row in self.queues[k]]) if self.queues[k] else None

    def state_dict(self) -> dict:
        """For checkpoints: every queue's entries, in order."""
        return {"m": self.m, "capacity": self.capacity,
                "queues": [[tuple(conditioning.to(t, "cpu") for t in row) for row in q] for q in self.queues]}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        """Restore what state_dict() returned."""
        self.m, self.capacity = state["m"], state["capacity"]
        self.queues = [deque(tuple(conditioning.to(t, device) for t in row) for row in q) for q in state["queues"]]
