"""The adversarial half of Algorithm 1 (Eq. 7-8): the heads H_k on the frozen teacher's features, their optimiser,
and what they read as real (SynVid's l'_{t'_k}, or with --real-videos real clips carried to t'_k)."""

from __future__ import annotations

import torch

from accvideo.backbones import conditioning
from accvideo.distill.features import TeacherFeatures
from accvideo.distill.heads import Heads
from accvideo.distill.losses import discriminator_loss, generator_loss
from accvideo.distill.real import RealClips


class Discriminator:
    """A discriminator network and its AdamW (betas 0, 0.99), prepared by `acc`, under two checkpoint keys."""

    keys = ("net", "opt")  # the checkpoint's keys for the network and its optimiser

    def __init__(self, acc, net: torch.nn.Module, lr: float):
        self.acc = acc
        opt = torch.optim.AdamW(net.parameters(), lr=lr, betas=(0.0, 0.99), weight_decay=0.0)
        self.net, self.opt = acc.prepare(net, opt)

    def step(self) -> None:
        """Update the network with the gradients its backward pass gathered."""
        self.opt.step()
        self.zero_grad()

    def zero_grad(self) -> None:
        """Drop its gradients (the student's generator pass leaves some: it must not move the discriminator)."""
        self.opt.zero_grad(set_to_none=True)

    def state_dict(self) -> dict:
        return {self.keys[0]: self.acc.unwrap_model(self.net).state_dict(), self.keys[1]: self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.acc.unwrap_model(self.net).load_state_dict(state[self.keys[0]])
        self.opt.load_state_dict(state[self.keys[1]])


class Adversary(Discriminator):
    """H_0 .. H_{m-1} (or one shared head) over TeacherFeatures of `backbone`'s transformer, prepared by `acc`;
    `step()` is line 22's H_k <- Update(H_k, lambda L_adv) with the gradients backward() gathered."""

    keys = ("heads", "opt_h")

    def __init__(self, acc, backbone, m: int, single_head: bool, lr: float, lambda_adv: float, grad_accum: int):
        self.lambda_adv, self.grad_accum = lambda_adv, grad_accum
        self.features = TeacherFeatures(backbone.transformer, backbone)  # Eq. 8's feature extractor
        super().__init__(acc, Heads(m, self.features.dim, single=single_head), lr)
        self.real: RealClips | None = None  # real clips instead of SynVid on the real side (set by the trainer)

    @property
    def heads(self) -> torch.nn.Module:
        """H_0 .. H_{m-1} (as prepared by `acc`)."""
        return self.net

    def logits(self, latent: torch.Tensor, k: int, sigma: float, text, condition) -> torch.Tensor:
        """H_k's per-location logits for latents at t'_k = sigma."""
        return self.heads(self.features(latent, sigma, text, condition), k)

    def generator_loss(self, l_gen: torch.Tensor, k: int, sigma: float, text, condition) -> torch.Tensor:
        """Lines 20-21, Eq. 7 generator side, for the student's l^gen_{t'_k} (gradient kept), reduced."""
        return generator_loss(self.logits(l_gen, k, sigma, text, condition)).mean()

    def real_side(self, step: int, sigma: float, synvid: tuple) -> tuple:
        """What H_k reads as real at a step: SynVid's (l'_{t'_k}, text, condition) as in Algorithm 1, or with real
        clips (ours) their latents carried to t'_k = sigma with their own text and condition."""
        if self.real is None:
            return synvid
        latent, text, cond = self.real(step, sigma)
        dev = self.acc.device
        return latent.to(dev), conditioning.to(text, dev), conditioning.to(cond, dev)

    def backward(self, k: int, sigma: float, inputs: tuple) -> dict[str, float]:
        """Line 22 on one micro-batch, Eq. 7 discriminator side: lambda L_adv's gradient on H_k's weights, from
        `inputs` = (real latents, text, condition, the student's detached latents, their text, condition)."""
        real_lat, text, cond, fake_lat, f_text, f_cond = inputs
        with torch.no_grad():
            feats = torch.cat([self.features(real_lat, sigma, text, cond), self.features(fake_lat, sigma, f_text,
                                                                                          f_cond)])
        real, fake = self.heads(feats, k).chunk(2)
        l_d = discriminator_loss(real, fake).mean()
        self.acc.backward(self.lambda_adv * l_d / self.grad_accum)
        return {"disc": l_d.item(), "logit_real": real.mean().item(), "logit_fake": fake.mean().item()}
