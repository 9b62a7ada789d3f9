"""Real clips on the heads' real side: encoded once (Shapes world or a folder of videos), read at t'_k, resumable."""

import csv
import math

import numpy as np
import pytest
import torch

from accvideo.distill.config import DistillConfig


def cfg(data, teacher, out, **kw):
    base = dict(data=str(data), teacher=str(teacher), out=str(out), iters=2, batch_size=2,
                checkpoint_every=1, threads=1, lr=1e-3, student_steps=2, real_videos="shapes:6")
    return DistillConfig(**{**base, **kw})


def test_rendered_real_clips_are_encoded_once_with_their_captions(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.real import REAL_FOLDER, RealClips, prepare_real_clips
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.sources import shapes_requests

    config = cfg(tiny_synvid, tiny_model_dir, tmp_path / "run")
    folder = prepare_real_clips(config, ModelFolder.open(str(tiny_model_dir)), tmp_path / "run")
    assert folder == tmp_path / "run" / REAL_FOLDER
    clips = RealClips(folder, batch_size=2, seed=0, holdout=2)
    requests = shapes_requests(6, 0, 0.5, 64, 64, 17, with_clips=True)
    gen = VideoGenerator.from_folder(str(tiny_model_dir))
    expected = gen.backbone.encode_video(np.stack([r.clip for r in requests]))  # (6, C, f, h, w)
    for i, r in enumerate(requests):
        item = clips.dataset.item(i)
        assert item["prompt"] == r.prompt and item["i2v"] == (r.image is not None)
        assert torch.allclose(item["latents"][0], expected[i], atol=1e-5) and clips.dataset.sigmas.tolist() == [0.0]
    assert clips.held_out() == [4, 5]
    stamp = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    prepare_real_clips(config, ModelFolder.open(str(tiny_model_dir)), tmp_path / "run")  # complete: reused as is
    assert stamp == {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    # a step's draw: training clips only, carried to sigma by the flow operation with seeded noise
    a, b = clips(3, 0.25), clips(3, 0.25)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], clips(4, 0.25)[0])
    clean = clips(3, 0.0)[0]
    assert any(torch.allclose(clean[0], expected[i], atol=1e-5) for i in range(4))


def test_a_folder_of_videos_with_captions_becomes_real_clips(tiny_model_dir, tmp_path):
    import imageio.v2 as imageio

    from accvideo.synvid.real import real_clip_requests

    videos = tmp_path / "videos"
    videos.mkdir()
    rng = np.random.default_rng(0)
    for name, (h, w, n) in {"a": (72, 96, 20), "b": (64, 64, 17)}.items():
        frames = rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8)
        imageio.mimwrite(videos / f"{name}.mp4", list(frames), fps=8, codec="libx264", macro_block_size=8)
        (videos / f"{name}.txt").write_text(f"clip {name}\n")
    requests, source = real_clip_requests(str(videos), 0, 0.5, 0, 64, 64, 17)
    assert [r.prompt for r in requests] == ["clip a", "clip b"] and source.startswith("videos:")
    assert all(r.clip.shape == (17, 64, 64, 3) and r.clip.dtype == np.uint8 for r in requests)
    (videos / "c.mp4").write_bytes((videos / "a.mp4").read_bytes())
    with pytest.raises(ValueError, match="c.mp4 needs c.txt"):
        real_clip_requests(str(videos), 0, 0.5, 0, 64, 64, 17)
    (videos / "c.txt").write_text("clip c")
    with pytest.raises(ValueError, match="a.mp4: 20 frames, the teacher.s clips have 33"):  # enough for 17 only
        real_clip_requests(str(videos), 0, 0.5, 0, 64, 64, 33)


def test_real_clips_are_the_heads_real_side_and_resume_bit_exact(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.trainer import Distiller, distill
    from accvideo.training.state import load_checkpoint

    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a", holdout=2))
    seen = []
    real_side = trainer.adversary.real_side
    trainer.adversary.real_side = lambda step, sigma, synvid: seen.append(sigma) or real_side(step, sigma, synvid)
    trainer.run()
    assert seen == [trainer.sigma(1), 0.0] * 2  # each inner step's head update, k = m-1 .. 0
    drawn = trainer.adversary.real(0, 0.0)[0]  # the real side's latents are real clips, not SynVid's l'_{t'_k}
    synvid = trainer.batches(0, 0)["latents"][:, -1]
    assert not any(torch.allclose(d, s) for d in drawn for s in synvid)
    heads = list(csv.DictReader(open(tmp_path / "a" / "heads.csv")))
    assert [int(r["k"]) for r in heads] == [0, 1, 0, 1]
    plain = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "plain", real_videos=None))
    plain.run()
    a_heads = load_checkpoint(tmp_path / "a" / "checkpoint-rank0.json")["heads"]
    p_heads = load_checkpoint(tmp_path / "plain" / "checkpoint-rank0.json")["heads"]
    assert any(not torch.equal(a_heads[k], p_heads[k]) for k in a_heads)

    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", holdout=2, iters=1))
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", holdout=2), resume=True)
    a, b = (load_checkpoint(tmp_path / run / "checkpoint-rank0.json") for run in ("a", "b"))
    for key in ("student", "heads"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])


@pytest.mark.parametrize("kw,message", [
    (dict(real_videos="shapes:-1"), "shapes:N needs a whole number of clips N >= 1"),
    (dict(real_videos="shapes:two"), "shapes:N needs a whole number"),
    (dict(mode="traj"), "needs SynVid data and the adversarial loss"),
])
def test_bad_real_clip_settings_are_one_line_errors(tiny_synvid, tiny_model_dir, tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        cfg(tiny_synvid, tiny_model_dir, tmp_path / "x", **kw)


def test_distribution_matching_gradient_and_a_run_that_resumes_bit_exact(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.dmd import dmd_gradient, dmd_loss
    from accvideo.distill.trainer import distill
    from accvideo.training.state import load_checkpoint

    x = torch.zeros(2, 3, requires_grad=True)
    real, fake = torch.tensor([[1.0, 1.0, 4.0], [0.0, 2.0, 0.0]]), torch.zeros(2, 3)
    grad = dmd_gradient(x.detach(), real, fake)  # (fake - real) / mean |x - real|: toward real, per-sample scale
    assert torch.allclose(grad, torch.tensor([[-0.5, -0.5, -2.0], [0.0, -3.0, 0.0]]))
    dmd_loss(x, grad).sum().backward()
    assert torch.allclose(x.grad, grad)

    kw = dict(real_videos=None, dmd=1.0)
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a", **kw))
    rows = list(csv.DictReader(open(tmp_path / "a" / "losses-rank0.csv")))
    assert all((float(r["dmd"]) > 0) == (r["k"] == "0") and (float(r["fake"]) > 0) == (r["k"] == "0") for r in rows)
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", **{**kw, "iters": 1}))
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", **kw), resume=True)
    a, b = (load_checkpoint(tmp_path / run / "checkpoint-rank0.json") for run in ("a", "b"))
    for key in ("student", "heads"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    assert all(torch.equal(a["dmd"]["fake"][k], b["dmd"]["fake"][k]) for k in a["dmd"]["fake"])
    from diffusers import WanTransformer3DModel

    teacher = WanTransformer3DModel.from_pretrained(tiny_model_dir).state_dict()
    assert any(not torch.equal(a["dmd"]["fake"][k], teacher[k]) for k in teacher)  # f_psi moved off the teacher


def test_the_real_score_and_the_onpolicy_target_use_the_teachers_own_cfg_scale(tiny_synvid, tiny_model_dir, tmp_path):
    """A SynVid recorded by another sampler (a student, without CFG) still gets the teacher's CFG in the real score
    and in the on-policy target."""
    import json
    import shutil

    from accvideo.distill.trainer import Distiller

    root = tmp_path / "copy"
    shutil.copytree(tiny_model_dir.parent, root)
    settings = json.loads((root / tiny_model_dir.name / "accvideo.json").read_text())
    (root / tiny_model_dir.name / "accvideo.json").write_text(json.dumps({**settings, "guidance": 2.0}))
    trainer = Distiller(cfg(tiny_synvid, root / tiny_model_dir.name, tmp_path / "a", real_videos=None, dmd=1.0,
                            onpolicy=1.0))
    assert trainer.dataset.settings.guidance == 3.0 and trainer.dmd.guidance == trainer.solver.guidance == 2.0


def test_pixel_critic_reads_decoded_frames_and_a_run_resumes_bit_exact(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.pixels import PixelCritic
    from accvideo.distill.trainer import Distiller, distill
    from accvideo.latents import decode_latents, decode_video, to_pixels
    from accvideo.training.state import load_checkpoint

    assert PixelCritic()(torch.zeros(2, 3, 17, 64, 64)).shape == (2, 1, 5, 8, 8)  # patch logits
    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a", pixel_adv=0.5))
    assert trainer.adversary.real is None and trainer.real is not None  # the heads keep SynVid; the critic reads clips
    latents = torch.randn(1, *trainer.batches(0, 0)["latents"].shape[2:], requires_grad=True)
    video = decode_video(trainer.pixels.vae, latents)  # (1, 3, F, H, W), differentiable in the latents
    assert np.array_equal(to_pixels(video), decode_latents(trainer.pixels.vae, latents.detach()))
    video.square().mean().backward()
    assert latents.grad.abs().sum() > 0 and all(p.grad is None for p in trainer.pixels.vae.parameters())
    trainer.run()
    rows = list(csv.DictReader(open(tmp_path / "a" / "losses-rank0.csv")))
    # the critic's losses on k = 0 only (the clean output); a fresh critic is near ln 2 on either side
    assert all((float(r["pixel_gen"]) > 0) == (r["k"] == "0") for r in rows)
    assert all((float(r["pixel_disc"]) > 0) == (r["k"] == "0") for r in rows)
    assert abs(float(rows[1]["pixel_disc"]) - math.log(2)) < 0.2
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", pixel_adv=0.5, iters=1))
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", pixel_adv=0.5), resume=True)
    a, b = (load_checkpoint(tmp_path / run / "checkpoint-rank0.json") for run in ("a", "b"))
    for key in ("student", "heads"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    assert all(torch.equal(a["pixels"]["critic"][k], b["pixels"]["critic"][k]) for k in a["pixels"]["critic"])
    plain = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "plain", real_videos=None))
    plain.run()
    p = load_checkpoint(tmp_path / "plain" / "checkpoint-rank0.json")
    assert any(not torch.equal(a["student"][k], p["student"][k]) for k in p["student"])  # the critic moved it
    # with the whole run as the critic's warm-up the student gets none of its gradient: the plain run's student
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "w", pixel_adv=0.5, pixel_warmup=2))
    w = load_checkpoint(tmp_path / "w" / "checkpoint-rank0.json")
    assert all(torch.equal(w["student"][k], p["student"][k]) for k in p["student"])
    assert any(not torch.equal(w["pixels"]["critic"][k], a["pixels"]["critic"][k]) for k in a["pixels"]["critic"])
    with pytest.raises(ValueError, match="name them with --real-videos"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path / "x", pixel_adv=1.0, real_videos=None)
