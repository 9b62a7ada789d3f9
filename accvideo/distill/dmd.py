"""Distribution matching (ours, after DMD / DMD2, `--dmd W`): a distribution-level term for 1-2 step students.

Eq. 6 pulls each student step onto the teacher's chord; with one or two steps that chord is long and the
student's clean output drifts from where the teacher's samples lie. Distribution matching compares the two
distributions instead of pairs: the student's clean output x is noised to a random t, and the frozen teacher
with CFG (the real score) and a fake score model f_psi trained on the student's own outputs (flow matching)
each predict the clean latent. The student is moved along x0_real - x0_fake, normalised per sample by
mean |x - x0_real| (DMD's weighting). f_psi starts as the teacher and is updated once per student step.
"""

from __future__ import annotations

import copy

import torch

from accvideo.backbones import conditioning
from accvideo.sampling import guided_velocity

T_MIN, T_MAX = 0.02, 0.98  # the noise levels the scores compare at (DMD's range)


def dmd_gradient(x: torch.Tensor, x0_real: torch.Tensor, x0_fake: torch.Tensor) -> torch.Tensor:
    """The distribution-matching gradient at x (B, ...): (x0_fake - x0_real) / mean |x - x0_real| per sample."""
    norm = (x - x0_real).abs().flatten(1).mean(1).clamp_min(1e-6).view(-1, *([1] * (x.dim() - 1)))
    return (x0_fake - x0_real) / norm


def dmd_loss(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient with respect to x is `grad` (per element, unreduced): 0.5 ||x - sg(x - grad)||^2."""
    return 0.5 * (x - (x - grad).detach()) ** 2


class DistributionMatching:
    """The teacher as the real score, a fake score model f_psi trained on the student's outputs, and its optimiser."""

    def __init__(self, backbone, guidance: float, uncond_text, lr: float):
        """backbone: the frozen teacher's (its transformer is the real score); uncond_text: the empty prompt's."""
        self.backbone, self.guidance, self.uncond = backbone, guidance, uncond_text
        self.teacher = backbone.transformer
        self.fake = copy.deepcopy(self.teacher).train().requires_grad_(True)  # f_psi <- theta
        self.opt = torch.optim.AdamW(self.fake.parameters(), lr=lr, betas=(0.0, 0.99), weight_decay=0.0)

    def _noised(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(x_t, eps, t): x carried to a random t in [T_MIN, T_MAX] by the flow operation of Sec. 3.1."""
        t = T_MIN + (T_MAX - T_MIN) * float(torch.rand((), generator=gen))
        eps = torch.randn(x.shape, generator=gen).to(x.device)
        return (1 - t) * x + t * eps, eps, t

    def loss(self, x: torch.Tensor, text, condition, gen: torch.Generator) -> torch.Tensor:
        """The student's distribution-matching loss (B, ...) at its clean outputs x (B, C, f, h, w), gradient kept."""
        x_t, _, t = self._noised(x.detach(), gen)
        uncond = conditioning.select(self.uncond, torch.zeros(len(x), dtype=torch.long))
        with torch.no_grad():
            real = guided_velocity(self.backbone.velocity, self.teacher, text, uncond, condition, self.guidance)
            x0_real = x_t - t * real(x_t, t)
            x0_fake = x_t - t * self.backbone.velocity(self.fake, x_t, t, text, condition)
        return dmd_loss(x, dmd_gradient(x.detach(), x0_real, x0_fake))

    def update_fake(self, x: torch.Tensor, text, condition, gen: torch.Generator) -> float:
        """One flow-matching step of f_psi on the student's outputs x (detached); returns its loss."""
        x_t, eps, t = self._noised(x.detach(), gen)
        v = self.backbone.velocity(self.fake, x_t, t, text, condition)
        loss = ((v - (eps - x.detach())) ** 2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.item()

    def state_dict(self) -> dict:
        return {"fake": self.fake.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.fake.load_state_dict(state["fake"])
        self.opt.load_state_dict(state["opt"])
