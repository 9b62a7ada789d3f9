"""The miniature on the HunyuanVideo-class transformer (teacher v2's architecture), through every stage:
generate (T2V and I2V), SynVid via the CLI, Algorithm 1, the exported student, on tiny random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def hy_model_dir(tmp_path_factory):
    """A model folder with a random tiny HunyuanVideoTransformer3DModel (latent_concat I2V) and a tiny VAE."""
    from conftest import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-hy"), "test-hy")


def test_text_is_states_mask_and_pooled_sentence_vector(hy_model_dir, text_encoder):
    from accvideo.backbones.registry import ModelFolder

    backbone = ModelFolder.open(hy_model_dir).load(text_encoder=text_encoder)
    text = backbone.encode_text(["a small red circle moving left on a gray background", ""])
    assert set(text) == {"text_states", "text_mask", "text_pooled"}
    lengths = text["text_mask"].sum(1)
    assert lengths[0] == 12 and lengths[1] == 2  # [CLS] 10 words [SEP]; the empty prompt is [CLS] [SEP]
    emb = text_encoder(["a small red circle moving left on a gray background"])
    mean = emb.states[0, :12].mean(0)
    assert torch.allclose(text["text_pooled"][0], mean / mean.norm(), atol=1e-6)  # MiniLM's sentence embedding
    x = torch.randn(2, 16, 5, 16, 16)
    cond = backbone.condition(torch.ones(2, 16, 1, 16, 16), tuple(x.shape), torch.tensor([True, False]))
    assert cond.shape == (2, 17, 5, 16, 16)  # first-frame latent + one mask channel (latent_concat)
    assert cond[0, :16, 0].eq(1).all() and cond[0, 16, 0].eq(1).all() and cond[0, :, 1:].eq(0).all()
    assert cond[1].eq(0).all()  # first-frame dropout: T2V
    v = backbone.velocity(backbone.transformer, x, 0.5, text, cond)
    padded = {k: torch.nn.functional.pad(t, (0, 0, 0, 5) if t.ndim == 3 else (0, 5)) if k != "text_pooled" else t
              for k, t in text.items()}
    assert torch.allclose(v, backbone.velocity(backbone.transformer, x, 0.5, padded, cond), atol=1e-5)  # padding unread


def test_generate_synvid_distill_and_student(hy_model_dir, text_encoder, tmp_path):
    from accvideo.commands import main
    from accvideo.distill.config import DistillConfig
    from accvideo.distill.trainer import distill
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.dataset import SynVidDataset

    gen = VideoGenerator.from_folder(str(hy_model_dir), text_encoder=text_encoder)
    image = np.zeros((1, 64, 64, 3), np.uint8)
    image[0, 20:30, 20:30] = 200
    t2v = gen(["a large red circle moving right on a black background"], [0], steps=3)
    i2v = gen(["a large red circle moving right on a black background"], [0], steps=3, images=image)
    assert t2v.frames.shape == i2v.frames.shape == (1, 17, 64, 64, 3) and t2v.nfe == 6  # 3 steps with CFG
    assert not np.array_equal(t2v.frames, i2v.frames)

    data = tmp_path / "synvid"
    assert main(["synvid", "generate", "--teacher", str(hy_model_dir), "--shapes", "8", "--i2v-fraction", "0.5",
                 "--teacher-steps", "10", "--keep", "all", "--shard-size", "4", "--batch-size", "4",
                 "--out", str(data)]) == 0
    dataset = SynVidDataset(data)
    assert dataset.settings.architecture == "HunyuanVideoTransformer3DModel"
    sample = dataset[0]
    assert set(sample["text_states"]) == {"text_states", "text_mask", "text_pooled"}
    assert sample["condition"].shape == (17, 5, 16, 16)
    expected = gen.encode_text([sample["prompt"]])
    assert torch.allclose(sample["text_states"]["text_pooled"], expected["text_pooled"][0], atol=1e-3)  # fp16

    cfg = DistillConfig(data=str(data), teacher=str(hy_model_dir), out=str(tmp_path / "run"), iters=2, batch_size=2,
                        checkpoint_every=1, threads=1, lr=1e-3)
    final = distill(cfg)
    student = VideoGenerator.from_folder(str(final), text_encoder=text_encoder)
    assert type(student.transformer).__name__ == "HunyuanVideoTransformer3DModel"
    out = student(["a small blue square moving up on a navy background"], [1])
    assert out.nfe == 5 and out.frames.shape == (1, 17, 64, 64, 3)
