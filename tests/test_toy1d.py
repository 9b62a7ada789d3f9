"""The 1D toy of Sec. 3.2 / Fig. 2: Eq. 4, useless points by hand and by count, and the Fig. 2 f) distillation gap.

One short teacher ("fast" preset: 800 Adam steps at lr 1e-3) serves the whole module; bounds below leave room around
what it reached when written (noted beside each)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from accvideo import toy1d

CONFIG = toy1d.PRESETS["fast"]


@pytest.fixture(scope="module")
def teacher() -> toy1d.ResidualMLP:
    return toy1d.train_teacher(CONFIG, seed=0, progress=False)


class ConstantVelocity(nn.Module):
    """v(x, t) = c everywhere: Euler integrates it exactly."""

    def __init__(self, c: float):
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.c)


@pytest.mark.parametrize("mismatch", [0.0, 1.5, 4.0, 6.0])
def test_distillation_points_have_mismatch_degree_m(mismatch):
    p_d = toy1d.distillation_points(mismatch)
    assert p_d == (-(3 - mismatch / 2), 3 - mismatch / 2)
    assert toy1d.mismatch_degree(p_d) == pytest.approx(mismatch)


def test_distillation_points_reject_m_beyond_six():
    with pytest.raises(ValueError):
        toy1d.distillation_points(6.5)


def test_teacher_endpoint_per_point_grids_are_exact_for_constant_velocity():
    x_t, t = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 0.5, 0.0])
    end = toy1d.teacher_endpoint(ConstantVelocity(2.0), x_t, t, steps=7)
    assert torch.allclose(end, x_t - 2.0 * t)  # x_0 = x_t + (0 - t) c


def test_nothing_is_useless_at_t0_for_m0(teacher):
    x_d = torch.tensor(toy1d.distillation_points(0.0))
    end = toy1d.teacher_endpoint(teacher, x_d.clone(), torch.zeros(2), steps=50)
    assert torch.equal(end, x_d)  # a zero-length grid leaves x_0 = x_d
    assert not toy1d.is_useless(x_d, end).any()


def test_a_point_by_hand_is_useless(teacher):
    # x_d = 3, t = 0.9, eps = -3: x_t = 0.1 * 3 + 0.9 * (-3) = -2.4, deep in the basin of -3
    end = toy1d.teacher_endpoint(teacher, torch.tensor([-2.4]), torch.tensor([0.9]), steps=50)
    assert end.item() == pytest.approx(-3.0, abs=0.5)
    assert toy1d.is_useless(torch.tensor([3.0]), end).item()


def test_teacher_samples_concentrate_near_the_training_points(teacher):
    d = toy1d.distance_to_data(toy1d.sample(teacher, toy1d.teacher_sigmas(CONFIG), 20_000, seed=1))
    assert (d < 0.5).float().mean() > 0.99  # measured 0.9997
    assert d.mean() < 0.1  # measured 0.042


def test_useless_fraction_noise_mismatch_and_growth_with_m(teacher):
    f0 = toy1d.useless_fraction(0.0, n=20_000, seed=0, teacher=teacher)
    f4 = toy1d.useless_fraction(4.0, n=20_000, seed=0, teacher=teacher)
    assert 0.07 < f0 < 0.12  # measured 0.096: Gaussian noise mismatch alone
    assert f4 > f0 + 0.06  # measured 0.192
    assert f0 == pytest.approx(toy1d.ideal_useless_fraction(0.0), abs=0.015)  # ideal 0.0959
    assert f4 == pytest.approx(toy1d.ideal_useless_fraction(4.0), abs=0.015)  # ideal 0.1926
    assert toy1d.useless_fraction(0.0, n=20_000, seed=0, teacher=teacher) == f0  # seeded


def test_accvideo_student_beats_forward_diffusion_student_at_large_m(teacher):
    students = toy1d.distil_students(teacher, [5.8], CONFIG, seed=0, progress=False)
    errors = toy1d.distillation_errors(students, teacher, CONFIG, n=20_000, seed=1)
    kd, ours = errors["M=5.8"], errors["AccVideo"]
    # measured: distance to data 0.143 (KD) vs 0.044 (AccVideo); |student - teacher| 0.111 vs 0.011
    assert ours["mean distance to data"] < 0.6 * kd["mean distance to data"]
    assert ours["mean |student - teacher|"] < 0.3 * kd["mean |student - teacher|"]
    assert ours["within 0.5 of data"] > 0.99
