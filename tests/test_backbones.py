"""Real backbones from diffusers folders: tiny random-weight WanPipeline, WanImageToVideoPipeline and
HunyuanVideoPipeline, built offline and saved with save_pretrained, run through the four commands
(generate, synvid generate, distill, generate with the student), and checked against the stock pipelines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from accvideo.commands import main

GEOMETRY = ["--height", "16", "--width", "16", "--frames", "9"]
PROMPTS = ["a red circle moving right", "a blue square moving left", "a small green star"]
KINDS = {"WanPipeline": "wan-t2v", "WanImageToVideoPipeline": "wan-i2v", "HunyuanVideoPipeline": "hunyuan-t2v"}


@pytest.fixture(scope="module", params=list(KINDS))
def run(request, tmp_path_factory):
    """One tiny pipeline folder per class, taken through the four commands once; the tests read the results."""
    from PIL import Image

    from accvideo.backbones.tiny import build_pipeline

    name = request.param
    root = tmp_path_factory.mktemp(KINDS[name])
    build_pipeline(name).save_pretrained(root / "pipe")
    i2v = name == "WanImageToVideoPipeline"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / "first.png")
    if i2v:
        (root / "p.jsonl").write_text("".join(json.dumps({"prompt": p, "image": "first.png"}) + "\n" for p in PROMPTS))
        prompts, image = root / "p.jsonl", ["--image", str(root / "first.png")]
    else:
        (root / "p.txt").write_text("\n".join(PROMPTS) + "\n")
        prompts, image = root / "p.txt", []
    codes = {
        "teacher": main(["generate", "--model", str(root / "pipe"), "--prompt", PROMPTS[0], "--steps", "2", *GEOMETRY,
                         "--output", str(root / "x.mp4"), *image]),
        "synvid": main(["synvid", "generate", "--teacher", str(root / "pipe"), "--prompts", str(prompts),
                        "--teacher-steps", "10", "--student-steps", "5", *GEOMETRY, "--out", str(root / "S"),
                        "--batch-size", "3", "--shard-size", "3", "--threads", "1"]),
        "distill": main(["distill", "--data", str(root / "S"), "--teacher", str(root / "pipe"), "--out",
                         str(root / "D"), "--iters", "2", "--batch-size", "2", "--lr", "1e-3", "--threads", "1"]),
        "student": main(["generate", "--model", str(root / "D"), "--prompt", PROMPTS[1], *GEOMETRY,
                         "--output", str(root / "s.mp4"), "--json", *image]),
        "lora": main(["distill", "--data", str(root / "S"), "--teacher", str(root / "pipe"), "--out", str(root / "L"),
                      "--iters", "2", "--batch-size", "2", "--lr", "1e-2", "--threads", "1", "--lora-rank", "2"]),
    }
    return {"name": name, "kind": KINDS[name], "root": root, "codes": codes, "image": image}


def test_four_commands_write_9_frame_clips(run):
    from accvideo.video import read_mp4

    assert run["codes"] == {"teacher": 0, "synvid": 0, "distill": 0, "student": 0, "lora": 0}
    assert read_mp4(run["root"] / "x.mp4").shape == (9, 256, 256, 3)  # 16 x 16 clips written enlarged 16x
    assert read_mp4(run["root"] / "s.mp4").shape == (9, 256, 256, 3)


def test_synvid_stores_the_backbones_conditioning(run):
    from accvideo.schedules import flow_sigmas
    from accvideo.synvid.dataset import SynVidDataset

    ds = SynVidDataset(run["root"] / "S")
    assert len(ds) == 3 and ds.backbone == run["kind"]
    channels = 4 if run["kind"] == "hunyuan-t2v" else 16
    item = ds[0]
    assert item["latents"].shape == (6, channels, 3, 2, 2)  # 5 key intervals; 9 frames -> 3 latent frames of 2x2
    shift = 7.0 if run["kind"] == "hunyuan-t2v" else 3.0  # HunyuanVideo's (the paper's); the tiny Wan scheduler's
    assert torch.allclose(ds.sigmas, flow_sigmas(10, shift)[[0, 2, 4, 6, 8, 10]].float())
    if run["kind"] == "hunyuan-t2v":
        assert set(ds.extra_fields) == {"text_mask", "text_pooled"} and item["condition"] is None
        text = item["text_states"]
        assert text["text_states"].shape == (256, 16) and text["text_pooled"].shape == (8,)
    elif run["kind"] == "wan-i2v":
        assert set(ds.extra_fields) == {"condition", "image_embeds"} and item["i2v"]
        assert item["condition"]["condition"].shape == (20, 3, 2, 2)  # 4 mask + 16 latent channels
        assert item["text_states"].shape == (512, 16)
    else:
        assert ds.extra_fields == () and item["condition"] is None and item["text_states"].shape == (512, 16)
    settings = json.loads((run["root"] / "S" / "synvid.json").read_text())
    assert settings["backbone"] == run["kind"] and len(settings["sigmas"]) == 6


def test_distill_changes_the_student_and_exports_a_loadable_folder(run):
    import diffusers

    from accvideo.backbones.registry import backbone_name
    from accvideo.settings import SamplingSettings

    root = run["root"]
    final = root / "D" / "final"
    cls = getattr(diffusers, json.loads((root / "pipe" / "model_index.json").read_text())["transformer"][1])
    teacher = cls.from_pretrained(root / "pipe" / "transformer").state_dict()
    student = cls.from_pretrained(final / "transformer").state_dict()  # stock diffusers loading
    assert any(not torch.equal(student[k], teacher[k]) for k in teacher)
    settings = SamplingSettings.load(final)
    assert settings.kind == "student" and settings.guidance == 1.0 and len(settings.sigmas) == 6
    assert settings.backbone == run["kind"] == backbone_name(final)
    assert (final / settings.pipeline).resolve() == (root / "pipe").resolve()
    pipe = diffusers.DiffusionPipeline.from_pretrained(final)  # the linked components make a stock pipeline
    assert type(pipe).__name__ == run["name"]
    assert torch.equal(pipe.transformer.state_dict()[next(iter(student))], student[next(iter(student))])


def test_student_json_reports_five_steps_without_cfg(run, capsys):
    out = run["root"] / "s2.mp4"
    assert main(["generate", "--model", str(run["root"] / "D" / "final"), "--prompt", PROMPTS[2], *GEOMETRY,
                 "--output", str(out), "--json", *run["image"]]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["steps"] == 5 and record["nfe"] == 5


def test_teacher_matches_the_stock_pipeline(run):
    """One backbone step equals the diffusers pipeline's own step (Wan: 1 Euler step with CFG 5; Hunyuan: 2 steps,
    shift 7, embedded guidance 6) from the same noise."""
    from PIL import Image

    from accvideo.pipeline import VideoGenerator
    from accvideo.video import read_image

    gen = VideoGenerator.from_folder(str(run["root"] / "pipe"))
    pipe = gen.backbone.pipe
    noise = gen.noise([7], 16, 16, 9)
    kw = dict(height=16, width=16, num_frames=9, latents=noise.clone(), output_type="latent")
    images = None
    if run["kind"] == "hunyuan-t2v":
        steps, guidance = 2, 1.0
        ref = pipe(prompt=PROMPTS[0], num_inference_steps=2, guidance_scale=6.0, **kw).frames
    else:
        steps, guidance = 1, 5.0
        text, uncond = gen.encode_text([PROMPTS[0]]), gen.encode_text([""])
        if run["kind"] == "wan-i2v":
            images = read_image(run["root"] / "first.png")[None]
            kw["image"] = Image.fromarray(images[0])
        ref = pipe(prompt_embeds=text, negative_prompt_embeds=uncond, num_inference_steps=1, guidance_scale=5.0,
                   **kw).frames
    ours = gen([PROMPTS[0]], [7], steps=steps, guidance=guidance, height=16, width=16, frames=9, images=images,
               return_trajectory=True)
    assert ours.nfe == 2  # Wan: one step with CFG; HunyuanVideo: two steps, guidance embedded
    assert torch.allclose(ours.trajectory[-1], ref.float(), atol=1e-4), (ours.trajectory[-1] - ref).abs().max()


def stock_student_clip(run, pipe, noise):
    """The stock pipeline's latent clip at the student's m steps, no CFG, from `noise` (HunyuanVideo: its
    embedded guidance as the student's settings name it)."""
    from PIL import Image

    from accvideo.settings import SamplingSettings
    from accvideo.video import read_image

    settings = SamplingSettings.load(run["root"] / "D" / "final")
    kw = dict(height=16, width=16, num_frames=9, latents=noise.clone(), output_type="latent",
              num_inference_steps=settings.steps, guidance_scale=settings.embedded_guidance or 1.0)
    if run["kind"] == "hunyuan-t2v":
        kw["prompt"] = PROMPTS[1]
    else:  # WanPipeline's own UMT5 path (the I2V pipeline's copy of it needs ftfy, not installed here)
        from diffusers import WanPipeline

        kw["prompt_embeds"] = WanPipeline._get_t5_prompt_embeds(pipe, prompt=[PROMPTS[1]], device="cpu",
                                                             max_sequence_length=512)
    if run["kind"] == "wan-i2v":
        kw["image"] = Image.fromarray(read_image(run["root"] / "first.png"))
    return pipe(**kw).frames.float()


def our_student_clip(run, folder, seed: int = 11):
    """(noise, `accvideo generate`'s last latent) of a student folder for PROMPTS[1]."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.video import read_image

    gen = VideoGenerator.from_folder(str(folder))
    images = read_image(run["root"] / "first.png")[None] if run["kind"] == "wan-i2v" else None
    out = gen([PROMPTS[1]], [seed], height=16, width=16, frames=9, images=images, return_trajectory=True)
    assert out.nfe == 5
    return gen.noise([seed], 16, 16, 9), out.trajectory[-1]


def test_stock_pipeline_samples_the_students_sigmas(run):
    """`DiffusionPipeline.from_pretrained(student)` at 5 steps gives `accvideo generate`'s clip from the same noise:
    the student's key timesteps, not the scheduler's own 5-step grid (Wan ships a scheduler that gives them)."""
    import diffusers

    from accvideo.settings import SamplingSettings

    final = run["root"] / "D" / "final"
    pipe = diffusers.DiffusionPipeline.from_pretrained(final)
    settings = SamplingSettings.load(final)
    if run["kind"] != "hunyuan-t2v":  # WanPipeline calls set_timesteps(5): the shipped scheduler gives the student's
        pipe.scheduler.set_timesteps(5)
        assert np.allclose(pipe.scheduler.sigmas.numpy(), settings.sigmas, atol=1e-6)
        teacher = diffusers.DiffusionPipeline.from_pretrained(run["root"] / "pipe").scheduler
        teacher.set_timesteps(5)
        assert not np.allclose(teacher.sigmas.numpy(), settings.sigmas, atol=1e-3)  # what a user got before
    noise, ours = our_student_clip(run, final)
    stock = stock_student_clip(run, pipe, noise)
    assert torch.allclose(ours, stock, atol=1e-4), (ours - stock).abs().max()


def test_lora_student_loads_into_the_teachers_stock_pipeline(run):
    """`accvideo distill --lora-rank 2` writes adapters only, in diffusers' format: `pipe.load_lora_weights` on the
    teacher's stock pipeline (plus, for Wan, the student's scheduler) gives what `accvideo generate` gives."""
    import diffusers

    from accvideo.settings import SamplingSettings

    final = run["root"] / "L" / "final"
    settings = SamplingSettings.load(final)
    assert settings.lora == "pytorch_lora_weights.safetensors" and not (final / "transformer").exists()
    assert (final / settings.base).resolve() == (run["root"] / "pipe").resolve()
    pipe = diffusers.DiffusionPipeline.from_pretrained(run["root"] / "pipe")
    if run["kind"] != "hunyuan-t2v":
        pipe.scheduler = diffusers.FlowMatchEulerDiscreteScheduler.from_pretrained(final, subfolder="scheduler")
    noise, ours = our_student_clip(run, final)
    teacher_clip = stock_student_clip(run, pipe, noise)  # the same grid without the adapters
    pipe.load_lora_weights(final)
    stock = stock_student_clip(run, pipe, noise)
    assert torch.allclose(ours, stock, atol=1e-4), (ours - stock).abs().max()
    assert (ours - teacher_clip).abs().max() > 1e-3  # the adapters changed the model


def test_feature_taps_read_the_video_tokens(run):
    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.features import TeacherFeatures, default_layers

    backbone = ModelFolder.open(run["root"] / "pipe").load()
    fe = TeacherFeatures(backbone.transformer, backbone)
    blocks = 4 if run["kind"] == "hunyuan-t2v" else 3  # HunyuanVideo: 2 dual- + 2 single-stream blocks
    assert len(fe.blocks) == blocks and (fe.noisy_layer, fe.clean_layer) == default_layers(blocks)
    x = torch.randn(1, *backbone.noise_shape(32, 32, 9), requires_grad=True)
    text = backbone.encode_text([PROMPTS[0]])
    cond = None
    if run["kind"] == "wan-i2v":
        cond = backbone.condition(backbone.image_features(np.zeros((1, 32, 32, 3), np.uint8), 9), tuple(x.shape))
    feats = fe(x, 0.6, text, cond)
    pt, ph, pw = backbone.patch_size(backbone.transformer)
    assert feats.shape == (3 // pt, fe.dim, 4 // ph, 4 // pw)  # frames folded into the batch
    feats.square().mean().backward()
    assert x.grad.abs().sum() > 0 and all(p.grad is None for p in backbone.transformer.parameters())


def test_wrong_task_or_size_is_a_one_line_error(run, tmp_path, capsys):
    pipe = str(run["root"] / "pipe")
    bad_size = main(["generate", "--model", pipe, "--prompt", "x", "--height", "24", "--width", "16", "--frames", "9",
                     "--output", str(tmp_path / "a.mp4"), *run["image"]])
    assert bad_size == 2 and "multiple of 16" in capsys.readouterr().err
    if run["kind"] == "wan-i2v":
        wrong = main(["generate", "--model", pipe, "--prompt", "x", *GEOMETRY, "--output", str(tmp_path / "b.mp4")])
    else:
        wrong = main(["generate", "--model", pipe, "--prompt", "x", *GEOMETRY, "--output", str(tmp_path / "b.mp4"),
                      "--image", str(run["root"] / "first.png")])
    assert wrong == 2 and "only" in capsys.readouterr().err
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "b.mp4").exists()


def test_studio_serves_the_backbone_and_its_student(run, tmp_path):
    """`accvideo studio --teacher PIPE --student D`: the runner and the page on a diffusers backbone."""
    from accvideo.video import read_image
    from app.limits import RequestError, make_request
    from app.runner import StudioRunner
    from app.studio import build_demo

    runner = StudioRunner(str(run["root"] / "pipe"), str(run["root"] / "D"), out_dir=tmp_path)
    i2v = run["kind"] == "wan-i2v"
    assert runner.tasks == (("i2v",) if i2v else ("t2v",)) and not runner.miniature
    assert (runner.teacher.backbone, runner.student.backbone) == (run["kind"], run["kind"])
    assert runner.caps.max_side == 1280 and not runner.loaded  # configs only so far
    with pytest.raises(RequestError, match="multiple of 16"):
        make_request("x", 0, 2, 5, 5.0, 24, 16, 9, caps=runner.caps)
    image = read_image(run["root"] / "first.png") if i2v else None
    request = make_request(PROMPTS[0], 3, 2, 5, 5.0, 16, 16, 9, image=image, image_to_video=i2v, caps=runner.caps)
    result = runner.compare(request)
    assert result.teacher.frames.shape == result.student.frames.shape == (9, 16, 16, 3)
    assert (result.teacher.nfe, result.student.nfe) == (4, 5)  # teacher: 2 steps with CFG 5; student: 5 without
    assert not np.array_equal(result.teacher.frames, result.student.frames)
    tabs = {block.get("props", {}).get("id") for block in build_demo(runner).config["components"]
            if block.get("type") == "tabitem"}
    assert tabs == ({"i2v"} if i2v else {"t2v", "trajectory"})
    runner.close()


def test_hunyuan_defaults_give_the_papers_key_timesteps(tmp_path):
    from accvideo.backbones.hunyuan import HunyuanT2VBackbone
    from accvideo.schedules import PAPER_KEY_TIMESTEPS, key_timesteps

    settings = HunyuanT2VBackbone.defaults(tmp_path)
    assert (settings.shift, settings.steps, settings.guidance, settings.embedded_guidance) == (7.0, 50, 1.0, 6.0)
    keys = key_timesteps(settings.sigma_grid(), 5)
    assert np.allclose(keys.numpy(), PAPER_KEY_TIMESTEPS, atol=6e-4)  # the paper prints them truncated


def test_gpu_speed_bench_tiny_smoke(tmp_path):
    """bench/gpu_speed.py --tiny: the GPU benchmark's whole code path on a tiny Wan2.1 on the CPU."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    results = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, str(root / "bench" / "gpu_speed.py"), "--tiny", "--results", str(results)],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert (r["teacher"]["steps"], r["teacher"]["nfe"], r["student"]["steps"], r["student"]["nfe"]) == (50, 100, 5, 5)
    assert r["speedup"]["denoise"] > 1 and r["synvid_samples_per_hour"] > 0 and r["distill_seconds_per_iter"] > 0
    assert "## GPU speed: Wan2.1-T2V-tiny" in results.read_text()
