"""The 1D toy experiment of Sec. 3.2, Fig. 2 and Appendix A.1: useless data points and what they do to distillation.

A flow-matching teacher learns p(x) = {-3, 3}. Forward diffusion of a distillation set p_d whose mismatch degree
(Eq. 4) is M gives start points x_t; a point is *useless* when the teacher's ODE from it ends at the wrong training
point (Fig. 2 b, e). Distilling a few-step student from such points (knowledge distillation) is then compared with
distilling it from the teacher's own trajectories (AccVideo, Eq. 6) (Fig. 2 f).

Nothing runs at import; every random draw takes an explicit seed; `default_teacher` caches trained teachers in-process.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn
from tqdm.auto import tqdm

from accvideo.distill.losses import trajectory_loss
from accvideo.schedules import (TEACHER_STEPS, euler_step, flow_matching_loss, flow_sigmas, forward_diffuse,
                                key_timesteps, train_timesteps)

TRAIN_POINTS = (-3.0, 3.0)  # p(x): the teacher's training data (A.1)
MAX_MISMATCH = 6.0  # at M = 6 both points of p_d reach 0; beyond, Eq. 4 no longer returns M


@dataclass(frozen=True)
class ToyConfig:
    """Sizes and optimisation settings of the 1D toy (teacher after A.1; students after Sec. 4.2)."""

    width: int = 64  # hidden width of the residual MLP (a miniature of Fig. 13's ResNet)
    blocks: int = 3  # residual blocks
    lr: float = 1e-4  # Adam learning rate of teacher and students (A.1)
    batch: int = 2048  # batch size: the two training points repeated (A.1)
    teacher_iters: int = 10_000  # teacher training iterations (A.1)
    teacher_steps: int = TEACHER_STEPS  # n: the teacher's Euler steps (Sec. 4.1)
    student_steps: int = 5  # m: the student's steps = number of key intervals (Sec. 4.2)
    shift: float = 1.0  # flow shift of the grids; 1 = uniform in t (the video's 7 is for high-resolution latents)
    student_iters: int = 3000  # student training iterations
    trajectories: int = 20_000  # teacher trajectories (or forward-diffused starts per key interval) to distil from


PRESETS = {
    "paper": ToyConfig(),
    # fast: 10x the learning rate, so that a tenth of the iterations trains about as far (notebook FAST mode, tests)
    "fast": ToyConfig(lr=1e-3, teacher_iters=800, student_iters=400, trajectories=4096),
}


class ResidualBlock(nn.Module):
    """h + W2 silu(W1 silu(h)): one pre-activation residual block."""

    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.SiLU(), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.net(h)  # (N, W)


class ResidualMLP(nn.Module):
    """The velocity model v(x_t, t) of the toy: (x, t) -> residual blocks -> scalar velocity."""

    def __init__(self, width: int, blocks: int):
        super().__init__()
        self.inp = nn.Linear(2, width)
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.stack([x, t.expand_as(x)], dim=-1))  # (N, W)
        return self.out(self.blocks(h)).squeeze(-1)  # (N,)


def build_model(config: ToyConfig, seed: int) -> ResidualMLP:
    """A freshly initialised velocity model, seeded (the global RNG is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ResidualMLP(config.width, config.blocks)


def train_teacher(config: ToyConfig = PRESETS["paper"], seed: int = 0, progress: bool = True) -> ResidualMLP:
    """Train the flow-matching teacher on {-3, 3} (A.1: Adam, the points repeated to a batch)."""
    model = build_model(config, seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor(TRAIN_POINTS).repeat(config.batch // len(TRAIN_POINTS))  # (B,)
    for _ in tqdm(range(config.teacher_iters), desc="teacher", disable=not progress):
        x1 = torch.randn(x0.shape, generator=gen)
        t = train_timesteps(len(x0), gen, config.shift)
        loss = flow_matching_loss(model(forward_diffuse(x0, x1, t), t), x0, x1).mean()  # Eq. 3
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=4)
def default_teacher(preset: str = "paper", seed: int = 0) -> ResidualMLP:
    """A teacher trained once per (preset, seed) and cached in this process."""
    return train_teacher(PRESETS[preset], seed)


@torch.no_grad()
def euler_trajectory(model: nn.Module, x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Eq. 5 along a grid, x (N,) from sigmas[0] to sigmas[-1]; sigmas (S + 1,) or per point (S + 1, N). -> (S + 1, N).

    `euler_step` broadcasts over per-point sigmas, so every point may have its own grid.
    """
    sigmas = sigmas.float().view(len(sigmas), -1).expand(-1, len(x))  # (S + 1, N)
    path = [x]
    for s, s_next in zip(sigmas[:-1], sigmas[1:]):
        path.append(euler_step(path[-1], model(path[-1], s), s, s_next))  # (N,)
    return torch.stack(path)


def teacher_sigmas(config: ToyConfig) -> torch.Tensor:
    """The teacher's n-step grid, 1 -> 0 (shape (n + 1,))."""
    return flow_sigmas(config.teacher_steps, config.shift)


def student_sigmas(config: ToyConfig) -> torch.Tensor:
    """The m + 1 key timesteps t'_m = 1 > ... > t'_0 = 0 picked from the teacher's grid (Sec. 4.2)."""
    return key_timesteps(teacher_sigmas(config), config.student_steps)


def sample(model: nn.Module, sigmas: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n samples: Gaussian noise integrated with Euler (Eq. 5) along sigmas. -> (n,)."""
    noise = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    return euler_trajectory(model, noise, sigmas)[-1]


def nearest_point(x: torch.Tensor, points: tuple[float, ...] = TRAIN_POINTS) -> torch.Tensor:
    """The element of `points` nearest each x (first one on ties). x (N,) -> (N,)."""
    p = torch.tensor(points, dtype=x.dtype)
    return p[(x[:, None] - p).abs().argmin(dim=1)]


def distance_to_data(x: torch.Tensor) -> torch.Tensor:
    """|x - nearest training point|: how far each sample lands from p(x) = {-3, 3}. (N,) -> (N,)."""
    return (x - nearest_point(x)).abs()


def distillation_points(mismatch: float) -> tuple[float, float]:
    """p_d = {-(3 - M/2), 3 - M/2}: the distillation set whose mismatch degree (Eq. 4) is M, 0 <= M <= 6."""
    if not 0 <= mismatch <= MAX_MISMATCH:
        raise ValueError(f"M must lie in [0, {MAX_MISMATCH}], got {mismatch}")
    a = TRAIN_POINTS[1] - mismatch / 2
    return (0.0 - a, a)  # 0.0 - a: no -0.0 at M = 6


def mismatch_degree(p_d: tuple[float, ...], p: tuple[float, ...] = TRAIN_POINTS) -> float:
    """Eq. 4: M = sum over x_d in p_d of min over x in p of |x_d - x|."""
    return sum(min(abs(x_d - x) for x in p) for x_d in p_d)


def ideal_useless_fraction(mismatch: float, grid: int = 100_000) -> float:
    """Fig. 2 e) for the exact teacher, whose ODE keeps the sign of x_t (symmetry): E_t Phi(-(1 - t) x_d / t)."""
    a = distillation_points(mismatch)[1]
    t = (torch.arange(grid, dtype=torch.float64) + 0.5) / grid  # midpoint rule on (0, 1)
    if a == 0:  # M = 6: x_d = 0 is nearest -3 (first on ties); half the noise sends it to +3
        return 0.5
    return (0.5 * torch.special.erfc((1 - t) * a / t / 2 ** 0.5)).mean().item()


def ode_paths(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's ODE from each (x_t, t) down to 0 in one batch, Eq. 5 on each point's own uniform grid t -> 0.

    Returns (grids, paths), both (steps + 1, N).
    """
    grids = flow_sigmas(steps, 1.0).float()[:, None] * t  # (steps + 1, N)
    return grids, euler_trajectory(teacher, x_t, grids)


def teacher_endpoint(teacher: nn.Module, x_t: torch.Tensor, t: torch.Tensor, steps: int) -> torch.Tensor:
    """The teacher's ODE solution at time 0 from each (x_t, t) (N,) -> (N,)."""
    return ode_paths(teacher, x_t, t, steps)[1][-1]


def is_useless(x_d: torch.Tensor, x_end: torch.Tensor) -> torch.Tensor:
    """A start point is useless when its ODE end is nearer another training point than the one nearest x_d. (N,)."""
    return nearest_point(x_end) != nearest_point(x_d)


@dataclass
class UselessPoints:
    """Forward-diffused start points and where the teacher's ODE takes them; all (N,)."""

    x_d: torch.Tensor  # the distillation point each x_t comes from
    t: torch.Tensor  # its time, U(0, 1)
    x_t: torch.Tensor  # (1 - t) x_d + t eps
    x_end: torch.Tensor  # the teacher's ODE solution from (x_t, t) at time 0
    useless: torch.Tensor  # bool, see is_useless


def useless_points(teacher: nn.Module, mismatch: float, n: int, seed: int,
                   steps: int = PRESETS["paper"].teacher_steps) -> UselessPoints:
    """Draw n start points by forward diffusion of p_d (t ~ U(0, 1), eps ~ N(0, 1)) and solve the teacher's ODE."""
    gen = torch.Generator().manual_seed(seed)
    p_d = torch.tensor(distillation_points(mismatch))
    x_d = p_d[torch.randint(len(p_d), (n,), generator=gen)]
    t = torch.rand(n, generator=gen)
    x_t = forward_diffuse(x_d, torch.randn(n, generator=gen), t)
    x_end = teacher_endpoint(teacher, x_t, t, steps)
    return UselessPoints(x_d, t, x_t, x_end, is_useless(x_d, x_end))


def useless_fraction(mismatch: float, n: int = 100_000, seed: int = 0, teacher: nn.Module | None = None,
                     steps: int = PRESETS["paper"].teacher_steps) -> float:
    """Fig. 2 e): the frequency of useless points among n forward-diffused starts at mismatch degree M."""
    teacher = default_teacher() if teacher is None else teacher
    return useless_points(teacher, mismatch, n, seed, steps).useless.float().mean().item()


@dataclass
class KeyPairs:
    """Distillation pairs: a start l_{t'_{k+1}} and the teacher's point l_{t'_k} it leads to; all (N,)."""

    start: torch.Tensor  # l_{t'_{k+1}}
    end: torch.Tensor  # l_{t'_k}
    t_start: torch.Tensor  # t'_{k+1}
    t_end: torch.Tensor  # t'_k


def trajectory_pairs(teacher: nn.Module, config: ToyConfig, seed: int) -> KeyPairs:
    """AccVideo (Sec. 4.1-4.2): the teacher's n-step trajectories from noise, cut at the m + 1 key timesteps."""
    sigmas = teacher_sigmas(config)
    noise = torch.randn(config.trajectories, generator=torch.Generator().manual_seed(seed))
    stride = config.teacher_steps // config.student_steps
    keys = euler_trajectory(teacher, noise, sigmas)[::stride]  # (m + 1, N): l_{t'_m}, ..., l_{t'_0}
    key_t = student_sigmas(config).float()[:, None].expand_as(keys)  # (m + 1, N)
    return KeyPairs(keys[:-1].flatten(), keys[1:].flatten(), key_t[:-1].flatten(), key_t[1:].flatten())


def forward_diffused_pairs(teacher: nn.Module, mismatch: float, config: ToyConfig, seed: int) -> KeyPairs:
    """Knowledge distillation (Fig. 2 a): starts by forward diffusion of p_d at t'_{k+1}, ends by the teacher's ODE."""
    gen = torch.Generator().manual_seed(seed)
    sigmas, stride, n = teacher_sigmas(config), config.teacher_steps // config.student_steps, config.trajectories
    p_d = torch.tensor(distillation_points(mismatch))
    pairs = []
    for k in range(config.student_steps):  # the interval from sigmas[k * stride] down to sigmas[(k + 1) * stride]
        segment = sigmas[k * stride:(k + 1) * stride + 1]
        x_d = p_d[torch.randint(len(p_d), (n,), generator=gen)]
        start = forward_diffuse(x_d, torch.randn(n, generator=gen), segment[0].float().expand(n))
        end = euler_trajectory(teacher, start, segment)[-1]
        pairs.append((start, end, segment[0].float().expand(n), segment[-1].float().expand(n)))
    return KeyPairs(*(torch.cat(parts) for parts in zip(*pairs)))


def train_student(teacher: nn.Module, pairs: KeyPairs, config: ToyConfig, seed: int,
                  progress: bool = True) -> ResidualMLP:
    """Distil a few-step student, initialised from the teacher (Sec. 4.2), on key pairs with the loss of Eq. 6."""
    student = copy.deepcopy(teacher).train().requires_grad_(True)
    opt = torch.optim.Adam(student.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(config.student_iters), desc="student", disable=not progress):
        i = torch.randint(len(pairs.start), (config.batch,), generator=gen)
        v = student(pairs.start[i], pairs.t_start[i])
        loss = trajectory_loss(v, pairs.end[i], pairs.start[i], pairs.t_end[i], pairs.t_start[i]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return student.eval().requires_grad_(False)


def distil_students(teacher: nn.Module, mismatches: list[float], config: ToyConfig, seed: int = 0,
                    progress: bool = True) -> dict[str, ResidualMLP]:
    """Fig. 2 f): one knowledge-distillation student per M ("M=..."), and one AccVideo student ("AccVideo")."""
    students = {}
    for mismatch in mismatches:
        pairs = forward_diffused_pairs(teacher, mismatch, config, seed)
        students[f"M={mismatch:g}"] = train_student(teacher, pairs, config, seed, progress)
    students["AccVideo"] = train_student(teacher, trajectory_pairs(teacher, config, seed), config, seed, progress)
    return students


def distillation_errors(students: dict[str, nn.Module], teacher: nn.Module, config: ToyConfig, n: int,
                        seed: int) -> dict[str, dict[str, float]]:
    """Per student, from the same n noises: its m-step samples' distance to {-3, 3} and to the teacher's n-step ones."""
    reference = sample(teacher, teacher_sigmas(config), n, seed)
    errors = {}
    for name, student in students.items():
        x = sample(student, student_sigmas(config), n, seed)
        d = distance_to_data(x)
        errors[name] = {"mean distance to data": d.mean().item(), "within 0.5 of data": (d < 0.5).float().mean().item(),
                        "mean |student - teacher|": (x - reference).abs().mean().item()}
    return errors
