"""accvideo.analysis: trajectory statistics by hand, PCA images, block features on a tiny model, frame grids."""

import numpy as np
import pytest
import torch

from accvideo import analysis
from accvideo.backbones.registry import from_parts
from accvideo.distill.features import TeacherFeatures
from accvideo.schedules import flow_sigmas


def straight_path(x0: torch.Tensor, x1: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """The flow path x_t = (1 - t) x_0 + t x_1 at every sigma (P, ...)."""
    s = sigmas.view(-1, *([1] * x0.dim())).double()
    return (1 - s) * x0.double() + s * x1.double()


def test_straight_path_has_constant_velocity_and_exact_clean_estimate():
    sigmas = flow_sigmas(10)
    x0, x1 = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0)), torch.randn(2, 3, 4)
    path = straight_path(x0, x1, sigmas)
    v = analysis.step_velocities(path, sigmas)
    assert v.shape == (10, 2, 3, 4)
    assert torch.allclose(v, (x1 - x0).double().expand_as(v), atol=1e-10)  # u = x_1 - x_0 (Sec. 3.1)
    assert analysis.velocity_change(path, sigmas).abs().max() < 1e-10
    assert analysis.shortcut_error(path, sigmas, [0, 5, 10]).abs().max() < 1e-10
    assert torch.allclose(analysis.predicted_clean(path, sigmas), x0.expand(10, 2, 3, 4), atol=1e-5)
    # a list of per-point latents, as GenerationOutput.trajectory holds, gives the same answer
    assert torch.allclose(analysis.step_velocities(list(path.float()), sigmas), v, atol=1e-5)


def test_step_change_and_velocity_change_by_hand():
    path = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 3.0]])  # steps (1, 1) and (0, 2)
    sigmas = torch.tensor([1.0, 0.5, 0.0])
    assert torch.allclose(analysis.step_change(path), torch.tensor([1.0, 2.0 ** 0.5], dtype=torch.float64))
    # v_0 = (-2, -2), v_1 = (0, -4): |v_1 - v_0|_1 / |v_0|_1 = 4 / 4
    assert torch.allclose(analysis.velocity_change(path, sigmas), torch.tensor([1.0], dtype=torch.float64))


def test_shortcut_error_of_a_bent_path():
    path = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])  # a right angle
    sigmas = torch.tensor([1.0, 0.5, 0.0])
    # one Euler step over the whole interval with v_0 = (-2, 0) lands at (2, 0); the chord ends at (1, 1)
    err = analysis.shortcut_error(path, sigmas, [0, 2])
    assert torch.allclose(err, torch.tensor([1.0], dtype=torch.float64))  # |(1, 1) - (2, 0)| / |(1, 1)|
    assert analysis.shortcut_error(path, sigmas, [0, 1, 2]).abs().max() < 1e-12  # each single step is exact


def test_pca_project_finds_the_dominant_axis_with_fixed_sign():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(500, 1, generator=g)
    tokens = torch.cat([10 * t, 0.1 * torch.randn(500, 4, generator=g)], dim=1)  # nearly all variance on axis 0
    proj, explained = analysis.pca_project(tokens, 3)
    assert proj.shape == (500, 3) and explained.shape == (3,)
    assert explained[0] > 0.99 and explained.sum() <= 1.0 + 1e-6
    assert torch.corrcoef(torch.stack([proj[:, 0], tokens[:, 0]]))[0, 1] > 0.999  # sign: largest loading positive
    proj_neg, _ = analysis.pca_project(-tokens, 3)
    assert torch.allclose(proj_neg[:, 0], -proj[:, 0], atol=1e-4)


def test_pca_rgb_shape_dtype_and_stretch():
    grid = torch.randn(3, 16, 4, 5, generator=torch.Generator().manual_seed(1))
    rgb, explained = analysis.pca_rgb(grid)
    assert rgb.shape == (3, 4, 5, 3) and rgb.dtype == np.uint8
    assert rgb.min() == 0 and rgb.max() == 255  # each component stretched over its quantiles
    assert explained.shape == (3,) and 0 < explained.sum() <= 1


def test_block_features_match_the_discriminator_extractor():
    from accvideo.models.teacher import build_transformer, i2v_condition

    torch.manual_seed(0)
    model = build_transformer("test")
    latent = torch.randn(2, 16, 2, 8, 8)
    text = torch.randn(2, 6, 384)
    cond = i2v_condition(None, tuple(latent.shape))
    feats = analysis.block_features(model, latent, 0.5, text, cond)
    assert len(feats) == len(model.blocks) == 1
    assert feats[0].shape == (2 * 2, 24, 4, 4)  # (B f', D, h / 2, w / 2)
    assert torch.equal(feats[0], TeacherFeatures(model, from_parts(model))(latent, 0.5, text, cond))
    with pytest.raises(ValueError):
        analysis.block_features(model, latent, 0.5, text, cond, layers=[1])


def test_block_features_read_every_block_of_a_hunyuan_class_teacher():
    from accvideo.models.teacher import build_transformer, hunyuan_condition, hunyuan_text

    torch.manual_seed(0)
    model = build_transformer("test-hy")  # 1 dual-stream + 1 single-stream block
    latent = torch.randn(2, 16, 2, 8, 8)
    text = hunyuan_text(torch.randn(2, 6, 384), torch.ones(2, 6))
    cond = hunyuan_condition(None, tuple(latent.shape))
    feats = analysis.block_features(model, latent, 0.5, text, cond)
    assert len(feats) == len(model.transformer_blocks) + len(model.single_transformer_blocks) == 2
    assert all(f.shape == (2 * 2, 16, 4, 4) for f in feats)  # (B f', D, h / 2, w / 2), D = 2 heads x 8
    assert not torch.allclose(feats[0], feats[1])  # two blocks, two readings
    assert torch.equal(feats[1], TeacherFeatures(model, from_parts(model))(latent, 0.5, text, cond))  # the last block, as at t > 0


def test_patch_tokens_matches_the_transformer_token_layout():
    latent = torch.arange(2 * 3 * 2 * 4 * 6, dtype=torch.float32).reshape(2, 3, 2, 4, 6)
    tokens = analysis.patch_tokens(latent, (1, 2, 2))
    assert tokens.shape == (2 * 2, 3 * 4, 2, 3)  # (B f', C pt ph pw, h', w')
    # sample 1, latent frame 0, token (row 1, col 2) holds channel c's 2 x 2 patch at rows 2-3, cols 4-5
    assert tokens[2, :4, 1, 2].tolist() == latent[1, 0, 0, 2:4, 4:6].flatten().tolist()
    assert tokens[3, 4:8, 0, 0].tolist() == latent[1, 1, 1, 0:2, 0:2].flatten().tolist()


def test_linear_probe_reads_a_linear_target_and_not_noise():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(8, 6, 4, 4, generator=g)
    mix = torch.randn(6, 3, generator=g)
    targets = torch.einsum("ndhw,de->nehw", features, mix)  # an exact linear function of the features
    assert analysis.linear_probe_r2(features, targets, folds=2, ridge=1e-6) > 0.999
    assert analysis.linear_probe_r2(features, 3 * targets + 1, folds=4, ridge=1e-6) > 0.999
    unrelated = torch.randn(8, 3, 4, 4, generator=g)
    assert analysis.linear_probe_r2(features, unrelated, folds=2) < 0.1


def test_tiles_grids_and_side_by_side():
    clips = np.zeros((2, 9, 4, 6, 3), np.uint8)
    clips[1] = 7
    grid = analysis.frame_grid(clips, every=4)  # frames 0, 4, 8
    assert grid.shape == (2 * 4 + 2, 3 * 6 + 2 * 2, 3)
    assert (grid[:4, :6] == 0).all() and (grid[6:, :6] == 7).all() and (grid[4:6] == 255).all()
    assert analysis.frame_grid(clips, frames=[1]).shape == (10, 6, 3)
    both = analysis.side_by_side([clips[0], clips[1]], gap=1)
    assert both.shape == (9, 4, 13, 3) and (both[:, :, 6] == 255).all() and (both[:, :, 7:] == 7).all()
    assert analysis.upscale(np.zeros((5, 4, 6, 3), np.uint8), 3).shape == (5, 12, 18, 3)


def test_live_loss_curves_collect_each_k_and_panel():
    from accvideo.analysis import LiveLossCurves

    curves = LiveLossCurves(m=2, show=False)
    rows = [dict(iter=it, k=k, sigma=0.5 * (k + 1), traj=0.1 * (it + 1) + k, gen=0.7, disc=0.6 + k,
                 logit_real=1.0, logit_fake=-0.5 * it) for it in range(3) for k in (1, 0)]
    for row in rows:
        curves.update(row)
    assert curves.series(1, "traj") == ([0, 1, 2], pytest.approx([1.1, 1.2, 1.3]))
    assert curves.series(0, "disc") == ([0, 1, 2], pytest.approx([0.6, 0.6, 0.6]))
    assert curves.series(0, "logit gap") == ([0, 1, 2], pytest.approx([1.0, 1.5, 2.0]))
    assert len(curves.fig.data) == 2 * 4 and curves.fig.data[0].name == "k = 1 (t'_k = 1.000)"
