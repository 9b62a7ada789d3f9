"""Conditioning batches: what a backbone's transformer reads besides the latent and the timestep.

A backbone's text or image conditioning is a tensor (the miniature's text states, its I2V condition),
a dict of tensors (HunyuanVideo's states + mask + pooled CLIP vector; Wan I2V's condition latent + CLIP
image tokens) or None (no image conditioning). Every tensor is batched along dim 0. These functions let
SynVid, the queues and the trainer move such batches around without knowing which backbone made them.
"""

from __future__ import annotations

import torch

Cond = torch.Tensor | dict[str, torch.Tensor] | None


def cat(a: Cond, b: Cond) -> Cond:
    """Concatenate two batches of the same structure along the batch dimension."""
    if a is None or b is None:
        return None
    if isinstance(a, dict):
        return {k: torch.cat([a[k], b[k]]) for k in a}
    return torch.cat([a, b])


def rows(c: Cond, n: int) -> list:
    """Split a batch of n into n detached rows (None stays None)."""
    if c is None:
        return [None] * n
    if isinstance(c, dict):
        return [{k: v[i].detach() for k, v in c.items()} for i in range(n)]
    return list(c.detach())


def stack(items: list) -> Cond:
    """The inverse of rows: a list of rows (tensors, dicts or Nones) -> one batch."""
    if items[0] is None:
        return None
    if isinstance(items[0], dict):
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}
    return torch.stack(items)


def to(c: Cond, device: torch.device | str, dtype: torch.dtype | None = None) -> Cond:
    """Move a batch (every floating tensor also to dtype, when given)."""
    if c is None:
        return None
    if isinstance(c, dict):
        return {k: to(v, device, dtype) for k, v in c.items()}
    if dtype is not None and c.is_floating_point():
        return c.to(device, dtype)
    return c.to(device)


def select(c: Cond, index: torch.Tensor | slice) -> Cond:
    """Rows of a batch by index or slice."""
    if c is None:
        return None
    if isinstance(c, dict):
        return {k: v[index] for k, v in c.items()}
    return c[index]
