"""Schedules: the shifted grid, the paper's key timesteps, and Eq. 5 against diffusers' scheduler."""

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from accvideo.schedules import (any_key_indices, euler_step, flow_sigmas, forward_diffuse, key_indices,
                                key_timesteps, train_timesteps, uniform_key_timesteps)


def test_flow_sigmas_endpoints_and_monotone():
    s = flow_sigmas(50, 7.0)
    assert s.shape == (51,)
    assert s[0] == 1.0 and s[-1] == 0.0
    assert torch.all(s[1:] < s[:-1])


def test_paper_key_timesteps():
    keys = key_timesteps(flow_sigmas(50, 7.0), 5)
    expected = torch.tensor([1.0, 0.96552, 0.91304, 0.82353, 0.63636, 0.0], dtype=torch.float64)
    assert torch.allclose(keys, expected, atol=5e-6)
    assert key_indices(50, 5) == [0, 10, 20, 30, 40, 50]


def test_shift_one_is_linear_and_uniform_grid():
    assert torch.allclose(flow_sigmas(4, 1.0), torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0], dtype=torch.float64))
    assert torch.allclose(uniform_key_timesteps(5), torch.linspace(1, 0, 6, dtype=torch.float64))


def test_key_indices_rejects_non_multiple():
    with pytest.raises(ValueError):
        key_indices(50, 7)


def test_any_key_indices_round_half_up_and_match_the_papers_where_m_divides_n():
    assert any_key_indices(50, 3) == [0, 17, 33, 50]
    assert any_key_indices(50, 4) == [0, 13, 25, 38, 50]  # 12.5 -> 13, 37.5 -> 38
    assert any_key_indices(50, 1) == [0, 50] and any_key_indices(50, 2) == [0, 25, 50]
    assert all(any_key_indices(50, m) == key_indices(50, m) for m in (1, 2, 5, 10, 25, 50))
    with pytest.raises(ValueError, match="from 1 to"):
        any_key_indices(50, 51)


@pytest.mark.parametrize("m, shift", [(5, 7.0), (5, 3.0), (3, 7.0), (2, 5.0), (1, 7.0)])
def test_student_scheduler_gives_the_students_grid_in_diffusers(m, shift):
    """A stock FlowMatchEulerDiscreteScheduler config whose own m-step grid is flow_sigmas(m, shift)."""
    from accvideo.backbones.pipeline_folder import student_scheduler

    sigmas = flow_sigmas(m, shift).tolist()
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(student_scheduler(sigmas).config)
    scheduler.set_timesteps(m)
    assert torch.allclose(scheduler.sigmas.double(), torch.tensor(sigmas, dtype=torch.float64), atol=1e-6)
    timesteps = 1000 * torch.tensor(sigmas[:-1], dtype=torch.float64)
    assert torch.allclose(scheduler.timesteps.double(), timesteps, atol=1e-3)
    assert student_scheduler([1.0, 0.9, 0.2, 0.1, 0.0]) is None  # not a shifted even grid: no config gives it


def test_euler_step_matches_diffusers_scheduler():
    sigmas = flow_sigmas(50, 7.0)
    sched = FlowMatchEulerDiscreteScheduler(shift=1.0)
    sched.set_timesteps(sigmas=sigmas[:-1].float().tolist())
    assert torch.allclose(sched.sigmas.double(), sigmas, atol=1e-6)
    gen = torch.Generator().manual_seed(0)
    latent = torch.randn(2, 4, 3, 8, 8, generator=gen)
    ours = latent.clone()
    for j, t in enumerate(sched.timesteps):
        v = torch.randn(latent.shape, generator=gen)
        latent = sched.step(v, t, latent, return_dict=False)[0]
        ours = euler_step(ours, v, float(sigmas[j]), float(sigmas[j + 1]))
    assert torch.allclose(ours, latent, atol=1e-5)


def test_forward_diffuse_endpoints():
    x0, noise = torch.ones(2, 3), torch.zeros(2, 3)
    assert torch.equal(forward_diffuse(x0, noise, torch.tensor([0.0, 1.0])), torch.tensor([[1.0] * 3, [0.0] * 3]))


def test_train_timesteps_in_range_and_seeded():
    a = train_timesteps(1000, torch.Generator().manual_seed(1), 3.0)
    b = train_timesteps(1000, torch.Generator().manual_seed(1), 3.0)
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    assert 0.7 < a.median() < 0.8  # shift 3 moves the median from 0.5 to 0.75
