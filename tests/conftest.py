"""Shared fixtures: tiny random-weight components, built offline in a temporary folder."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Under pytest-xdist (`make test` runs two workers on the two cores) each worker, and every process it starts
# (CLI subprocesses, notebook kernels), gets one thread: two workers of two threads each would oversubscribe.
XDIST_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))
if XDIST_WORKER:
    os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1 if XDIST_WORKER else 2)


@pytest.fixture(scope="session")
def text_encoder():
    """The real MiniLM text encoder (offline, from its wheel), shared across tests."""
    from accvideo.models.text import MiniLMTextEncoder

    return MiniLMTextEncoder()


def make_tiny_model(root, preset: str):
    """root/model: a random transformer of a tiny preset (either architecture), with a random tiny VAE in root/vae."""
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.models.teacher import build_transformer
    from accvideo.pipeline import SamplingSettings

    torch.manual_seed(0)
    ShapesAutoencoder(widths=(8, 16), blocks_per_level=1).save_pretrained(root / "vae")
    build_transformer(preset).save_pretrained(root / "model")
    SamplingSettings(kind="teacher", steps=4, guidance=3.0, vae="../vae").save(root / "model")
    return root / "model"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model folder with a random tiny WanTransformer3DModel and a random tiny VAE beside it."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), "test")


@pytest.fixture(scope="session")
def tiny_synvid(tiny_model_dir, tmp_path_factory, text_encoder):
    """A 16-sample SynVid dataset recorded from the tiny teacher (20 steps, all points kept, 5 key intervals)."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.run import SynVidSettings, generate_synvid, weights_sha256
    from accvideo.synvid.sources import shapes_requests

    out = tmp_path_factory.mktemp("synvid") / "data"
    requests = shapes_requests(16, 0, 0.5, 64, 64, 17)
    settings = SynVidSettings(teacher=str(tiny_model_dir), teacher_sha256=weights_sha256(tiny_model_dir),
                              source="shapes:16", samples=16, base_seed=0, teacher_steps=20, student_steps=5,
                              guidance=3.0, shift=7.0, keep="all", height=64, width=64, frames=17, shard_size=8,
                              batch_size=4)
    gen = VideoGenerator.from_folder(str(tiny_model_dir), text_encoder=text_encoder)
    return generate_synvid(gen, requests, settings, out)


@pytest.fixture(scope="session")
def tiny_teacher_data(tmp_path_factory, text_encoder):
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.training.teacher import prepare_teacher_data

    root = tmp_path_factory.mktemp("tdata")
    torch.manual_seed(0)
    ShapesAutoencoder(widths=(8, 16), blocks_per_level=1).save_pretrained(root / "vae")
    return prepare_teacher_data(str(root / "vae"), str(root / "data.safetensors"), n_clips=6, text_encoder=text_encoder,
                                batch_size=4)
