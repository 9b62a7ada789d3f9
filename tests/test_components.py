"""Components: the VAE's causal grouping and interface, the text encoder, the teacher's I2V input."""

import numpy as np
import pytest
import torch

from accvideo.latents import decode_latents, encode_clips, to_model_space, to_pixels
from accvideo.models.autoencoder import ShapesAutoencoder
from accvideo.models.teacher import build_transformer, i2v_condition, velocity


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return ShapesAutoencoder(widths=(8, 16), blocks_per_level=1).eval()


def test_vae_shapes_follow_wan_layout(vae):
    x = torch.randn(2, 3, 17, 64, 64)
    dist = vae.encode(x).latent_dist
    assert dist.mode().shape == (2, 16, 5, 16, 16)  # 1 + 4k frames -> 1 + k latent frames, 4x spatial
    assert vae.decode(dist.mode()).sample.shape == (2, 3, 17, 64, 64)
    with pytest.raises(ValueError):
        vae.encode(torch.randn(1, 3, 16, 64, 64))


def test_vae_grouping_is_causal(vae):
    """Latent frame 0 depends on frame 0 alone; latent frame 1 on frames 1-4 only."""
    x = torch.randn(1, 3, 9, 32, 32)
    y = x.clone()
    y[:, :, 5:] += 1.0  # change frames 5..8: only latent frame 2 may change
    with torch.no_grad():
        zx, zy = vae.encode(x).latent_dist.mode(), vae.encode(y).latent_dist.mode()
    assert torch.equal(zx[:, :, :2], zy[:, :, :2]) and not torch.equal(zx[:, :, 2], zy[:, :, 2])


def test_vae_save_load_round_trip(vae, tmp_path):
    vae.register_to_config(latents_mean=tuple([0.5] * 16), latents_std=tuple([2.0] * 16))
    vae.save_pretrained(tmp_path)
    again = ShapesAutoencoder.from_pretrained(tmp_path).eval()
    clips = np.random.default_rng(0).integers(0, 256, (1, 5, 32, 32, 3), dtype=np.uint8)
    z = encode_clips(vae, clips)
    assert torch.equal(z, encode_clips(again, clips))
    raw = vae.encode(to_model_space(clips)).latent_dist.mode()
    assert torch.allclose(z, (raw - 0.5) / 2.0, atol=1e-6)  # normalised with the stored statistics
    assert np.array_equal(decode_latents(vae, z), decode_latents(again, z))


def test_pixel_space_round_trip():
    clips = np.random.default_rng(1).integers(0, 256, (2, 5, 8, 8, 3), dtype=np.uint8)
    x = to_model_space(clips)
    assert x.shape == (2, 3, 5, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(to_pixels(x), clips)


def test_text_encoder_states_mask_and_cache(text_encoder):
    emb = text_encoder(["a red circle", "a large blue square moving left on a gray background", "a red circle"])
    assert emb.states.shape == (3, 128, 384) and emb.mask.shape == (3, 128)
    n = emb.mask.sum(1)
    assert n[0] < n[1] and n[0] == n[2]
    assert torch.all(emb.states[0, n[0]:] == 0)  # zero past the prompt
    assert torch.equal(emb.states[0], emb.states[2])
    other = text_encoder(["a green circle"]).states[0]
    assert not torch.allclose(other, emb.states[0])


def test_text_encoder_cache_is_bounded_and_clearable(text_encoder, monkeypatch):
    monkeypatch.setattr(text_encoder, "max_cached", 2)
    text_encoder.clear_cache()
    prompts = ["a red circle", "a blue square", "a green triangle"]
    emb = text_encoder(prompts)  # three new prompts, only two fit: the batch is still whole
    assert list(text_encoder._cache) == ["a blue square", "a green triangle"]  # encoded shortest first, oldest out
    again = text_encoder(prompts[::-1])
    assert torch.allclose(again.states, emb.states.flip(0), atol=1e-5) and len(text_encoder._cache) == 2
    text_encoder.clear_cache()
    assert not text_encoder._cache


def test_i2v_condition_layout():
    first = torch.full((2, 16, 1, 4, 4), 3.0)
    cond = i2v_condition(first, (2, 16, 5, 4, 4), present=torch.tensor([True, False]))
    assert cond.shape == (2, 20, 5, 4, 4)
    assert torch.all(cond[0, :4, 0] == 1) and torch.all(cond[0, :4, 1:] == 0)  # mask marks latent frame 0
    assert torch.all(cond[0, 4:, 0] == 3) and torch.all(cond[0, 4:, 1:] == 0)  # first latent, then zeros
    assert torch.all(cond[1] == 0)  # first-frame dropout: T2V
    assert torch.all(i2v_condition(None, (1, 16, 5, 4, 4)) == 0)


def test_teacher_velocity_shape_and_timestep_dependence():
    torch.manual_seed(0)
    model = build_transformer("test").eval()
    x = torch.randn(2, 16, 5, 8, 8)
    text = torch.randn(2, 7, 384)
    cond = i2v_condition(None, tuple(x.shape))
    with torch.no_grad():
        v1 = velocity(model, x, 0.9, text, cond)
        v2 = velocity(model, x, torch.tensor([0.9, 0.1]), text, cond)
    assert v1.shape == x.shape
    assert torch.allclose(v1[0], v2[0], atol=1e-5) and not torch.allclose(v1[1], v2[1])
    with pytest.raises(ValueError):
        build_transformer("nope")
