"""Distillation's parts: losses by hand, heads, queues, teacher features and the key timesteps."""

import pytest
import torch

from accvideo.backbones.registry import from_parts
from accvideo.distill.data import schedule_indices
from accvideo.distill.features import TeacherFeatures, default_layers
from accvideo.distill.heads import Heads
from accvideo.distill.losses import chord_velocity, discriminator_loss, generator_loss, trajectory_loss
from accvideo.distill.queues import LatentQueues


def test_trajectory_loss_by_hand():
    l_k1 = torch.tensor([[2.0, 0.0]])  # at t'_{k+1} = 0.5
    l_k = torch.tensor([[1.0, 1.0]])  # at t'_k = 0.25
    chord = chord_velocity(l_k, l_k1, torch.tensor([0.25]), torch.tensor([0.5]))
    assert torch.allclose(chord, torch.tensor([[4.0, -4.0]]))  # (l_k - l_k1) / (t_k - t_k1) = (-1, 1) / -0.25
    v = torch.tensor([[3.0, -4.0]])
    assert torch.allclose(trajectory_loss(v, l_k, l_k1, torch.tensor([0.25]), torch.tensor([0.5])),
                          torch.tensor([[1.0, 0.0]]))


def test_adversarial_losses_by_hand():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0])
    d = discriminator_loss(real, fake)
    sp = lambda x: torch.log1p(torch.exp(torch.tensor(x)))  # noqa: E731
    assert torch.allclose(d, torch.stack([sp(0.0), sp(-2.0), sp(-1.0)]))  # -log D(real), -log(1 - D(fake))
    assert torch.allclose(generator_loss(fake), sp(1.0).view(1))  # -log D(fake)


def test_heads_per_timestep_and_single():
    heads = Heads(5, 24)
    feats = torch.randn(10, 24, 8, 8)
    outs = [heads(feats, k) for k in range(5)]
    assert all(o.shape == (10, 1, 4, 4) for o in outs)
    assert len(heads.heads) == 5 and not torch.allclose(outs[0], outs[1])  # separate weights
    single = Heads(5, 24, single=True)
    assert len(single.heads) == 1 and torch.equal(single(feats, 0), single(feats, 4))
    with pytest.raises(IndexError):
        heads(feats, 5)


def test_group_norm_heads_cannot_see_a_global_scale_and_plain_heads_can():
    """A fake that differs from the real only in contrast: GroupNorm heads read both alike, norm "none" does not."""
    feats = torch.randn(4, 24, 8, 8)
    for norm, blind in (("group", True), ("none", False)):
        torch.manual_seed(0)
        head = Heads(1, 24, norm=norm).heads[0]
        torch.nn.init.zeros_(head.net[0].bias)  # a bias-free first conv: GroupNorm then undoes any input scale
        with torch.no_grad():
            same = torch.allclose(head(feats), head(1.5 * feats), atol=1e-4)
        assert same == blind
    with pytest.raises(ValueError, match="head norm"):
        Heads(1, 24, norm="batch")


def test_queue_fifo_bounded_and_state():
    q = LatentQueues(m=2, capacity=3)
    for i in range(4):
        q.push(1, torch.full((1, 2), float(i)), torch.full((1, 3), float(i)), torch.zeros(1, 1))
    assert q.size(1) == 3  # the oldest (0) was dropped
    lat, text, _ = q.pop(1, 2)
    assert lat[:, 0].tolist() == [1.0, 2.0] and text[:, 0].tolist() == [1.0, 2.0]  # FIFO, rows keep together
    state = q.state_dict()
    q2 = LatentQueues(2, 1)
    q2.load_state_dict(state)
    assert q2.size(1) == 1 and q2.pop(1, 1)[0][0, 0] == 3.0
    with pytest.raises(IndexError):
        q2.pop(1, 1)
    for i in range(4):
        q.push(2, torch.full((1, 2), float(i)), torch.full((1, 3), float(i)), None)
    drawn, text, _ = q.sample(2, 40, torch.Generator().manual_seed(0))  # with replacement, nothing removed
    assert drawn.shape == (40, 2) and set(drawn[:, 0].tolist()) == {1.0, 2.0, 3.0} and q.size(2) == 3
    assert torch.equal(drawn[:, 0], text[:, 0])  # rows keep together
    with pytest.raises(IndexError):
        q.sample(0, 1, torch.Generator())


def test_feature_layers_and_gradient_through_frozen_teacher():
    from accvideo.models.teacher import PRESETS, build_transformer, i2v_condition

    assert default_layers(60) == (59, 39)  # the paper's 60th and 40th layers
    PRESETS["test3"] = dict(PRESETS["test"], num_layers=3)
    teacher = build_transformer("test3")
    fe = TeacherFeatures(teacher, from_parts(teacher))
    assert (fe.noisy_layer, fe.clean_layer) == (2, 1)
    assert fe.layer_for(0.0) == 1 and fe.layer_for(0.6) == 2
    x = torch.randn(2, 16, 5, 8, 8, requires_grad=True)
    feats = fe(x, 0.6, torch.randn(2, 5, 384), i2v_condition(None, tuple(x.shape)))
    assert feats.shape == (10, 24, 4, 4)  # frames folded into the batch, 2x2 patches
    feats.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_schedule_indices():
    from accvideo.schedules import flow_sigmas

    all_points = flow_sigmas(50, 7.0).float()
    assert schedule_indices(all_points, 5, "accvideo") == [0, 10, 20, 30, 40, 50]
    assert schedule_indices(all_points[[0, 10, 20, 30, 40, 50]], 5, "accvideo") == list(range(6))
    uni = schedule_indices(all_points, 5, "uniform")
    assert torch.allclose(all_points[uni], torch.linspace(1, 0, 6), atol=0.03)
    with pytest.raises(ValueError):
        schedule_indices(all_points[[0, 10, 20, 30, 40, 50]], 5, "uniform")
