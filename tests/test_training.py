"""Training loops on tiny configs: they learn, checkpoint, and resume bit-exactly."""

import csv

import pytest
import torch

from accvideo.training.teacher import TeacherTrainConfig, flow_matching_loss, train_teacher
from accvideo.training.vae import VAETrainConfig, train_vae


def tiny_vae_cfg(out, **kw):
    base = dict(out=str(out), steps=6, batch_size=2, lr=2e-3, warmup=2, train_clips=8, widths=(8, 16),
                blocks_per_level=1, checkpoint_every=2)
    return VAETrainConfig(**{**base, **kw})


def test_train_vae_resume_is_bit_exact(tmp_path):
    final = train_vae(tiny_vae_cfg(tmp_path / "a"))
    assert train_vae(tiny_vae_cfg(tmp_path / "b", stop_at=3)) is None
    resumed = train_vae(tiny_vae_cfg(tmp_path / "b"), resume=True)
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "b" / "loss.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]  # no step lost or logged twice
    assert (final / "config.json").exists() and (resumed / "config.json").exists()
    with pytest.raises(FileExistsError):
        train_vae(tiny_vae_cfg(tmp_path / "a"))


def test_prepare_teacher_data_contents(tiny_teacher_data):
    data = torch.load(tiny_teacher_data, weights_only=False)
    assert data["latents"].shape == (6, 16, 5, 16, 16)
    assert data["first_latents"].shape == (6, 16, 1, 16, 16)
    assert data["text_states"].shape == (6, 128, 384) and len(data["prompts"]) == 6
    assert data["seeds"] == list(range(6))


def teacher_cfg(data, out, **kw):
    return TeacherTrainConfig(data=str(data), out=str(out), preset="test", steps=4, batch_size=2, warmup=1,
                              checkpoint_every=2, **kw)


def test_train_teacher_resume_is_bit_exact_and_exports(tiny_teacher_data, tmp_path):
    from diffusers import WanTransformer3DModel

    from accvideo.pipeline import SamplingSettings

    final = train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "a"))
    assert train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "b", stop_at=1)) is None
    train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "b"), resume=True)
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    for key in ("model", "ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    model = WanTransformer3DModel.from_pretrained(final)
    assert SamplingSettings.load(final).steps == 50
    ema = a["ema"]
    assert all(torch.equal(v, ema[k]) for k, v in model.state_dict().items())  # the export is the EMA


def test_flow_matching_loss_by_hand():
    x0, noise = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, -1.0]])
    v = torch.tensor([[0.0, 0.0]])
    assert torch.allclose(flow_matching_loss(v, x0, noise), torch.tensor([[0.25, 9.0]]))  # (x1 - x0)^2


def test_decoder_only_finetune_keeps_latent_space(tmp_path):
    from accvideo.models.autoencoder import ShapesAutoencoder

    first = train_vae(tiny_vae_cfg(tmp_path / "a", steps=2))
    tuned = train_vae(tiny_vae_cfg(tmp_path / "b", steps=3, init=str(first), decoder_only=True))
    a, b = ShapesAutoencoder.from_pretrained(first), ShapesAutoencoder.from_pretrained(tuned)
    assert all(torch.equal(p, q) for p, q in zip(a.encoder.parameters(), b.encoder.parameters()))
    assert any(not torch.equal(p, q) for p, q in zip(a.decoder.parameters(), b.decoder.parameters()))
    assert a.config.latents_mean == b.config.latents_mean
    with pytest.raises(ValueError):
        train_vae(tiny_vae_cfg(tmp_path / "c", decoder_only=True))
