"""Shared fixtures: tiny random-weight components, built offline in a temporary folder."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def text_encoder():
    """The real MiniLM text encoder (offline, from its wheel), shared across tests."""
    from accvideo.models.text import MiniLMTextEncoder

    return MiniLMTextEncoder()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model folder with a random tiny WanTransformer3DModel and a random tiny VAE beside it."""
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.models.teacher import build_transformer
    from accvideo.pipeline import SamplingSettings

    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    ShapesAutoencoder(widths=(8, 16), blocks_per_level=1).save_pretrained(root / "vae")
    build_transformer("test").save_pretrained(root / "model")
    SamplingSettings(kind="teacher", steps=4, guidance=3.0, vae="../vae").save(root / "model")
    return root / "model"
