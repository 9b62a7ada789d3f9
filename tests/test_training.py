"""Training loops on tiny configs: they learn, checkpoint, and resume bit-exactly."""

import csv
import json

import numpy as np
import pytest
import torch

from accvideo.resumable.state import load_checkpoint
from accvideo.schedules import flow_matching_loss
from accvideo.shapes import caption, random_spec
from accvideo.shapes.captions import canonical_caption
from accvideo.training.teacher import TeacherTrainConfig, train_teacher
from accvideo.training.teacher_data import load_teacher_data
from accvideo.training.vae import VAETrainConfig, train_vae


def tiny_vae_cfg(out, **kw):
    base = dict(out=str(out), steps=6, batch_size=2, lr=2e-3, warmup=2, train_clips=8, widths=(8, 16),
                blocks_per_level=1, checkpoint_every=2)
    return VAETrainConfig(**{**base, **kw})


def test_train_vae_resume_is_bit_exact(tmp_path):
    final = train_vae(tiny_vae_cfg(tmp_path / "a"))
    assert train_vae(tiny_vae_cfg(tmp_path / "b", stop_at=3)) is None
    resumed = train_vae(tiny_vae_cfg(tmp_path / "b"), resume=True)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.json")["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoint.json")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "b" / "loss.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]  # no step lost or logged twice
    assert (final / "config.json").exists() and (resumed / "config.json").exists()
    with pytest.raises(FileExistsError):
        train_vae(tiny_vae_cfg(tmp_path / "a"))


def test_prepare_teacher_data_contents(tiny_teacher_data):
    data = load_teacher_data(tiny_teacher_data)
    assert data["latents"].shape == (6, 16, 5, 16, 16)
    assert data["first_latents"].shape == (6, 16, 1, 16, 16)
    assert data["text_states"].shape == (6, 128, 384) and len(data["prompts"]) == 6
    assert data["canonical_states"].shape == (6, 128, 384) and len(data["canonical_prompts"]) == 6
    assert data["seeds"] == list(range(6))
    spec = random_spec(0)
    assert data["canonical_prompts"][0] == canonical_caption(spec)
    assert data["prompts"][0] == caption(spec, 0)
    lengths = data["canonical_mask"].sum(1)
    assert (lengths > 5).all() and (lengths < 30).all()  # "a small red circle moving left on a ..." in tokens
    assert torch.equal(data["canonical_states"][:, lengths.max():], torch.zeros_like(data["canonical_states"][:, lengths.max():]))


def teacher_cfg(data, out, **kw):
    base = dict(data=str(data), out=str(out), preset="test", steps=4, batch_size=2, warmup=1, checkpoint_every=2)
    return TeacherTrainConfig(**{**base, **kw})


@pytest.mark.parametrize("preset", ["test", "test-hy"])
def test_train_teacher_resume_is_bit_exact_and_exports(tiny_teacher_data, tmp_path, preset):
    from accvideo.backbones.registry import ModelFolder
    from accvideo.pipeline import SamplingSettings

    kw = dict(preset=preset, vae=str(tiny_teacher_data.parent / "vae"), eval_every=2, eval_prompts=2,
              canonical_until=2, decay_steps=2)
    final = train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "a", **kw))
    assert train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "b", stop_at=1, **kw)) is None
    train_teacher(teacher_cfg(tiny_teacher_data, tmp_path / "b", **kw), resume=True)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.json")
    b = load_checkpoint(tmp_path / "b" / "checkpoint.json")
    for key in ("model", "ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    assert a["step"] == 4 and a["cpu_seconds"] > 0
    assert sorted(p.name for p in (tmp_path / "a").glob("checkpoint*")) == ["checkpoint-000002.safetensors",
                                                                            "checkpoint.json"]  # one file set
    proxy_a = list(csv.DictReader(open(tmp_path / "a" / "proxy.csv")))
    proxy_b = list(csv.DictReader(open(tmp_path / "b" / "proxy.csv")))
    assert [int(r["step"]) for r in proxy_a] == [int(r["step"]) for r in proxy_b] == [2, 4]
    assert [r["t2v_all_three"] for r in proxy_a] == [r["t2v_all_three"] for r in proxy_b]
    assert all(0 <= float(r["t2v_shape"]) <= 1 and float(r["i2v_frame0_psnr"]) > 0 for r in proxy_a)
    backbone = ModelFolder.open(final).load()
    assert type(backbone.transformer).__name__ == ("WanTransformer3DModel" if preset == "test"
                                                   else "HunyuanVideoTransformer3DModel")
    assert SamplingSettings.load(final).steps == 50
    ema = a["ema"]
    assert all(torch.equal(v, ema[k]) for k, v in backbone.transformer.state_dict().items())  # the export is the EMA


def test_caption_schedule_and_batch_text(tiny_teacher_data):
    from accvideo.backbones.registry import from_parts
    from accvideo.models.teacher import build_transformer
    from accvideo.training.teacher import _batch, canonical_probability

    cfg = teacher_cfg(tiny_teacher_data, "unused", canonical_until=10, canonical_fraction=0.0, text_dropout=0.0,
                      batch_size=6)
    assert canonical_probability(9, cfg) == 1.0 and canonical_probability(10, cfg) == 0.0
    data = load_teacher_data(tiny_teacher_data)
    idx = torch.arange(6)
    backbone = from_parts(build_transformer("test-hy"))
    for step, key in ((0, "canonical"), (10, "world")):
        _, text, *_ = _batch(data, idx, cfg, step, torch.Generator().manual_seed(0), backbone)
        assert torch.equal(text["text_mask"].sum(1), data[f"{key}_mask"].sum(1).float())
        assert torch.allclose(text["text_states"], data[f"{key}_states"].float())
        assert torch.allclose(text["text_pooled"].norm(dim=1), torch.ones(6))


def test_checkpoints_are_safetensors_and_json_and_refuse_damage(tmp_path):
    import json

    from accvideo.resumable.state import save_checkpoint

    m = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(m.parameters())
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    path = tmp_path / "checkpoint.json"
    save_checkpoint(path, {"model": m.state_dict(), "opt": opt.state_dict(), "step": 7, "pair": (1, None)})
    state = load_checkpoint(path)
    assert state["step"] == 7 and state["pair"] == (1, None) and list(state["opt"]["state"]) == [0, 1]
    assert torch.equal(state["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    record = json.loads(path.read_text())
    assert record["tensors"] == "checkpoint-000001.safetensors"
    (tmp_path / record["tensors"]).write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(path)


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


def test_temporal_decoder_starts_as_the_base_and_is_causal(tmp_path):
    from accvideo.models.autoencoder import ShapesAutoencoder

    base = ShapesAutoencoder(widths=(8, 16), blocks_per_level=1).eval()
    base.save_pretrained(tmp_path / "base")
    tuned = train_vae(tiny_vae_cfg(tmp_path / "t", steps=2, init=str(tmp_path / "base"), decoder_only=True,
                                   temporal_decoder=True, temporal_weight=1.0))
    model = ShapesAutoencoder.from_pretrained(tuned).eval()
    assert model.config.temporal_decoder and len(model.temporal) == 2
    z = torch.randn(2, 16, 5, 16, 16)
    fresh = ShapesAutoencoder(widths=(8, 16), blocks_per_level=1, temporal_decoder=True).eval()
    fresh.load_state_dict(base.state_dict(), strict=False)
    with torch.no_grad():
        assert torch.equal(fresh.decode(z).sample, base.decode(z).sample)  # zero-initialised mixes change nothing
        later = z.clone()
        later[:, :, 3:] += 1.0
        a, b = model.decode(z).sample, model.decode(later).sample  # (B, 3, 17, H, W)
    assert torch.equal(a[:, :, :9], b[:, :, :9])  # latent frames 0..2 (frames 0..8) do not see frames 3, 4
    assert not torch.equal(a[:, :, 9:], b[:, :, 9:])
    assert any(m.conv.weight.abs().sum() > 0 for m in model.temporal.values())  # the mixes trained


def test_group_boundary_ratio_by_hand():
    from accvideo.evaluation.metrics import group_boundary_ratio

    steady = np.zeros((17, 4, 4, 3), np.uint8)
    steady[:, 0, 0, 0] = np.arange(17) * 10  # the same change into every frame
    assert group_boundary_ratio(steady) == pytest.approx(1.0)
    jumpy = np.zeros((17, 4, 4, 3), np.uint8)
    jumpy[:, 0, 0, 0] = [0] + [40 * ((t + 3) // 4) + (t + 3) % 4 for t in range(1, 17)]  # +40 into 1, 5, 9, 13
    # changes: into frames 1, 5, 9, 13 = 40 - 3 = 37 (first: 40 + 0 = 40), inside = 1
    assert group_boundary_ratio(jumpy) == pytest.approx((40 + 37 * 3) / 4 / 1.0)
    assert np.isnan(group_boundary_ratio(np.zeros((17, 4, 4, 3), np.uint8)))


def test_keyframe_encoder_reads_only_each_groups_last_frame(tmp_path):
    from accvideo.models.autoencoder import ShapesAutoencoder

    final = train_vae(tiny_vae_cfg(tmp_path / "kf", steps=2, keyframe_encoder=True, temporal_decoder=True,
                                   temporal_weight=1.0))
    model = ShapesAutoencoder.from_pretrained(final).eval()
    assert model.config.keyframe_encoder and model.encoder[1].in_channels == 3 * 4  # pixel-unshuffled RGB
    x = torch.rand(2, 3, 17, 64, 64) * 2 - 1
    between = x.clone()
    between[:, :, [1, 2, 3, 5, 6, 7, 9, 13, 14, 15]] = 0.0  # frames inside groups
    keys = x.clone()
    keys[:, :, 8] = -x[:, :, 8]  # the key frame of latent frame 2
    with torch.no_grad():
        z, z_between, z_keys = (model.encode(v).latent_dist.mean for v in (x, between, keys))
        assert model.decode(z).sample.shape == x.shape
    assert torch.equal(z, z_between)  # frames between the keys do not enter the latent
    changed = (z - z_keys).abs().amax(dim=(0, 1, 3, 4))  # per latent frame
    assert changed[2] > 0 and changed[[0, 1, 3, 4]].eq(0).all()


def test_resume_on_other_data_warns_and_export_checkpoint_needs_no_data(tiny_teacher_data, tmp_path):
    from accvideo.commands import main
    from accvideo.resumable.state import file_digest, save_checkpoint

    run = tmp_path / "run"
    kw = dict(vae=str(tiny_teacher_data.parent / "vae"), preset="test-hy")
    assert train_teacher(teacher_cfg(tiny_teacher_data, run, stop_at=2, **kw)) is None
    state = load_checkpoint(run / "checkpoint.json")
    assert state["data_sha256"] == file_digest(tiny_teacher_data)
    save_checkpoint(run / "checkpoint.json", {**state, "data_sha256": "0" * 64})  # as if the data had changed
    with pytest.warns(UserWarning, match="not the data this run started with"):
        train_teacher(teacher_cfg(tiny_teacher_data, run, stop_at=3, **kw), resume=True)
    history = [json.loads(line) for line in (run / "config_history.jsonl").read_text().splitlines()]
    assert [h["from_step"] for h in history] == [0, 2] and history[1]["config"]["stop_at"] == 3
    assert main(["train-teacher", "--out", str(run), "--export-checkpoint"]) == 0
    exported = load_checkpoint(run / "checkpoint.json")["ema"]
    from diffusers import HunyuanVideoTransformer3DModel

    model = HunyuanVideoTransformer3DModel.from_pretrained(run / "checkpoint-teacher")
    assert all(torch.equal(v, exported[k]) for k, v in model.state_dict().items())
    assert json.loads((run / "checkpoint-teacher" / "training.json").read_text())["step"] == 3


def test_average_weights_is_the_mean_and_refuses_foreign_folders(tmp_path):
    from safetensors.torch import load_file

    from accvideo.backbones.registry import ModelFolder
    from accvideo.commands import main
    from accvideo.models.teacher import build_transformer
    from accvideo.pipeline import SamplingSettings
    from accvideo.training.soup import average_weights
    from tests.conftest import make_tiny_model

    a = make_tiny_model(tmp_path / "a", "test-hy")
    b = tmp_path / "b" / "model"
    torch.manual_seed(1)
    build_transformer("test-hy").save_pretrained(b)
    SamplingSettings(kind="teacher", steps=4, guidance=3.0, vae="../../a/vae").save(b)
    out = average_weights([a, b], tmp_path / "soup" / "model")
    wa, wb, wm = (load_file(f / "diffusion_pytorch_model.safetensors") for f in (a, b, out))
    key = "proj_out.weight"
    assert not torch.equal(wa[key], wb[key])
    assert torch.allclose(wm[key], (wa[key] + wb[key]) / 2, atol=1e-7)
    assert set(wm) == set(wa) and all(wm[k].dtype == wa[k].dtype for k in wm)
    settings = SamplingSettings.load(out)
    assert settings.guidance == 3.0 and (out / settings.vae).resolve() == (a.parent / "vae").resolve()
    info = json.loads((out / "training.json").read_text())
    assert [s["folder"] for s in info["average_of"]] == [str(a), str(b)]
    backbone = ModelFolder.open(out).load()  # a model folder the pipeline opens
    assert torch.equal(backbone.transformer.state_dict()[key], wm[key])
    wan = make_tiny_model(tmp_path / "wan", "test")
    with pytest.raises(ValueError, match="different architecture"):
        average_weights([a, wan], tmp_path / "x")
    with pytest.raises(ValueError, match="not empty"):
        average_weights([a, b], out)
    assert main(["average-weights", str(a), "--out", str(tmp_path / "y")]) == 2  # one folder is bad input
    assert not (tmp_path / "y").exists()
