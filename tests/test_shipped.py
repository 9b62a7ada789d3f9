"""The shipped miniature in assets/: it loads with stock classes, round-trips, and does what its cards say."""

import json

import numpy as np
import pytest
import torch

from accvideo.pipeline import ASSETS, SamplingSettings

pytestmark = pytest.mark.skipif(not (ASSETS / "teacher" / "accvideo.json").exists(), reason="no shipped teacher")


@pytest.fixture(scope="module")
def vae():
    from accvideo.models.autoencoder import ShapesAutoencoder

    return ShapesAutoencoder.from_pretrained(ASSETS / "vae").eval()


def test_vae_round_trip_and_reconstruction(vae, tmp_path):
    from accvideo.latents import decode_latents, encode_clips
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.shapes import random_spec, render, split_seeds
    from accvideo.shapes.judge import psnr

    vae.save_pretrained(tmp_path)
    again = ShapesAutoencoder.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), again.state_dict().values()))
    assert again.config.latents_std == vae.config.latents_std
    clips = np.stack([render(random_spec(s)) for s in split_seeds("eval", 12)])
    z = encode_clips(vae, clips)
    assert z.shape == (12, 16, 5, 16, 16)
    assert abs(float(z.mean())) < 0.5 and 0.5 < float(z.std()) < 1.5  # normalised by the stored statistics
    recon = decode_latents(vae, z)
    assert np.mean([psnr(a, b) for a, b in zip(clips, recon)]) > 22.0  # these 12 give 23.8 dB; 200 give 26.2
    assert min(psnr(a[0], b[0]) for a, b in zip(clips, recon)) > 26.0  # frame 0 is encoded alone: these give >= 27.0


def test_teacher_loads_with_stock_class_and_round_trips(tmp_path):
    from diffusers import WanTransformer3DModel

    model = WanTransformer3DModel.from_pretrained(ASSETS / "teacher")
    model.save_pretrained(tmp_path)
    again = WanTransformer3DModel.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert model.config.in_channels == 36 and model.config.out_channels == 16 and model.config.text_dim == 384
    settings = SamplingSettings.load(ASSETS / "teacher")
    assert settings.kind == "teacher" and settings.steps == 50 and settings.shift == 7.0
    assert (ASSETS / "teacher" / settings.vae / "config.json").resolve().exists()
    card = (ASSETS / "teacher" / "README.md").read_text()
    assert "accvideo train-teacher" in card
    json.loads((ASSETS / "teacher" / "config.json").read_text())


def test_teacher_gets_colour_and_background_right(text_encoder):
    """The card measures 99 % colour and 100 % background (T2V, 200 prompts); 8 prompts at 20 steps here."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.quality import eval_prompts, measure

    gen = VideoGenerator.from_folder("teacher", text_encoder=text_encoder)
    figures = measure(gen, eval_prompts(8), 20, "t2v", batch_size=8)
    assert figures["background_right"] == 1.0 and figures["colour_right"] >= 0.75
    i2v = measure(gen, eval_prompts(4), 20, "i2v", batch_size=4)
    assert i2v["frame0_psnr_db"] > 25.0  # the I2V bar's frame-0 figure holds


@pytest.mark.skipif(not (ASSETS / "student" / "accvideo.json").exists(), reason="no shipped student")
def test_student_is_a_stock_folder_that_runs_5_steps_without_cfg(tmp_path):
    from diffusers import WanTransformer3DModel

    from accvideo.schedules import flow_sigmas, key_indices

    settings = SamplingSettings.load(ASSETS / "student")
    teacher_settings = SamplingSettings.load(ASSETS / "teacher")
    assert settings.kind == "student" and settings.steps == 5 and settings.guidance == 1.0
    expected = flow_sigmas(teacher_settings.steps, teacher_settings.shift)[key_indices(teacher_settings.steps, 5)]
    assert np.allclose(settings.sigmas, expected.tolist(), atol=1e-6)  # the paper's key timesteps
    assert (ASSETS / "student" / settings.vae).resolve() == (ASSETS / "vae").resolve()
    student = dict(WanTransformer3DModel.from_pretrained(ASSETS / "student").config)
    teacher = dict(WanTransformer3DModel.from_pretrained(ASSETS / "teacher").config)
    assert {k: v for k, v in student.items() if k != "_name_or_path"} == \
        {k: v for k, v in teacher.items() if k != "_name_or_path"}  # the teacher's architecture
    card = (ASSETS / "student" / "README.md").read_text()
    assert "accvideo distill" in card and "accvideo synvid generate" in card


@pytest.mark.skipif(not (ASSETS / "student" / "accvideo.json").exists(), reason="no shipped student")
def test_student_follows_the_teacher_closer_than_its_starting_point(text_encoder):
    """Same 5 NFE: the student lands nearer teacher@50 (same noise) than the teacher it started from does at
    5 steps without CFG, which is what distillation bought."""
    from accvideo.evaluation.fidelity import teacher_fidelity
    from accvideo.pipeline import VideoGenerator
    from accvideo.quality import eval_prompts

    prompts = eval_prompts(6)
    teacher = VideoGenerator.from_folder("teacher", text_encoder=text_encoder)
    student = VideoGenerator.from_folder("student", text_encoder=text_encoder, vae=teacher.vae)
    args = ([p.prompt for p in prompts], [p.seed for p in prompts])
    reference = teacher(*args).frames
    start = teacher(*args, steps=5, guidance=1.0)
    out = student(*args)
    assert out.nfe == start.nfe == 5  # 5 steps, no CFG: one evaluation a step
    fidelity = lambda clips: [teacher_fidelity(a, b) for a, b in zip(clips, reference)]  # noqa: E731
    ssim_student = np.mean([f["teacher_ssim"] for f in fidelity(out.frames)])
    ssim_start = np.mean([f["teacher_ssim"] for f in fidelity(start.frames)])
    print(f"teacher SSIM: student {ssim_student:.3f}, teacher at 5 steps without CFG {ssim_start:.3f}")
    assert ssim_student > ssim_start + 0.03  # these 6 prompts: 0.898 against 0.829
