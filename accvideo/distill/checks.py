"""The heads' held-out check of a run while it trains (`--holdout N`, at every checkpoint): is each head H_k
telling real from the student's own?"""

from __future__ import annotations

import torch

from accvideo.backbones import conditioning
from accvideo.schedules import euler_step


@torch.no_grad()
def evaluate_heads(trainer) -> list[dict[str, float]]:
    """Each head H_k on held-out samples: SynVid's l'_{t'_k} (real) against the student's own latent at t'_k,
    reached by its m-step chain from the sample's noise (fake); with real clips, the held-out real clips carried
    to t'_k (real). Per k: the mean logit gap real - fake, and how often the sign of the mean logit is right
    (accuracy; real_right and fake_right apart). A head that learns nothing sits at gap 0 and accuracy 0.5."""
    dev, m = trainer.acc.device, trainer.m
    student, adversary = trainer.student_model(), trainer.adversary
    ids = trainer.batches.held_out()
    logits: dict[int, tuple[list, list]] = {k: ([], []) for k in range(m)}
    for start in range(0, len(ids), trainer.cfg.batch_size):
        batch = {name: conditioning.to(t, dev)
                 for name, t in trainer.batches.samples(ids[start : start + trainer.cfg.batch_size]).items()}
        lat, text, cond = batch["latents"], batch["text_states"], batch["condition"]
        x = lat[:, 0]  # the sample's noise at t'_m = 1
        for k in range(m - 1, -1, -1):
            v = trainer.backbone.velocity(student, x, trainer.sigma(k + 1), text, cond)
            x = euler_step(x, v, trainer.sigma(k + 1), trainer.sigma(k))
            sides = (lat[:, m - k], x) if adversary.real is None else (x,)  # real clips: their own real side below
            for out, latent in zip(logits[k][2 - len(sides):], sides):
                out.append(adversary.logits(latent, k, trainer.sigma(k), text, cond).flatten(1).mean(1).cpu())
    if adversary.real is not None:  # the real side: held-out real clips instead of SynVid's latents
        for k in range(m):
            held = adversary.real.held_out_batches(trainer.sigma(k), trainer.cfg.seed, trainer.cfg.batch_size)
            for latent, text, cond in held:
                logit = adversary.logits(latent.to(dev), k, trainer.sigma(k), conditioning.to(text, dev),
                                         conditioning.to(cond, dev))
                logits[k][0].append(logit.flatten(1).mean(1).cpu())
    rows = []
    for k in range(m):
        real, fake = (torch.cat(v) for v in logits[k])
        real_right, fake_right = float((real > 0).float().mean()), float((fake < 0).float().mean())
        rows.append({"k": k, "sigma": trainer.sigma(k), "logit_gap": float(real.mean() - fake.mean()),
                     "accuracy": (real_right + fake_right) / 2, "real_right": real_right, "fake_right": fake_right})
    return rows
