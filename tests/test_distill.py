"""Distillation: losses by hand, heads, queues, features, and Algorithm 1 on tiny random models."""

import csv
import json
import subprocess
import sys

import pytest
import torch

from accvideo.distill.config import DistillConfig
from accvideo.distill.data import schedule_indices
from accvideo.distill.features import TeacherFeatures, default_layers
from accvideo.distill.heads import Heads
from accvideo.distill.losses import chord_velocity, discriminator_loss, generator_loss, trajectory_loss
from accvideo.distill.queues import LatentQueues


def test_trajectory_loss_by_hand():
    l_k1 = torch.tensor([[2.0, 0.0]])  # at t'_{k+1} = 0.5
    l_k = torch.tensor([[1.0, 1.0]])  # at t'_k = 0.25
    chord = chord_velocity(l_k, l_k1, torch.tensor([0.25]), torch.tensor([0.5]))
    assert torch.allclose(chord, torch.tensor([[4.0, -4.0]]))  # (l_k - l_k1) / (t_k - t_k1) = (-1, 1) / -0.25
    v = torch.tensor([[3.0, -4.0]])
    assert torch.allclose(trajectory_loss(v, l_k, l_k1, torch.tensor([0.25]), torch.tensor([0.5])),
                          torch.tensor([[1.0, 0.0]]))


def test_adversarial_losses_by_hand():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0])
    d = discriminator_loss(real, fake)
    sp = lambda x: torch.log1p(torch.exp(torch.tensor(x)))  # noqa: E731
    assert torch.allclose(d, torch.stack([sp(0.0), sp(-2.0), sp(-1.0)]))  # -log D(real), -log(1 - D(fake))
    assert torch.allclose(generator_loss(fake), sp(1.0).view(1))  # -log D(fake)
    assert torch.allclose(discriminator_loss(real, fake, "hinge"), torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(generator_loss(fake, "hinge"), torch.tensor([1.0]))


def test_heads_per_timestep_and_single():
    heads = Heads(5, 24)
    feats = torch.randn(10, 24, 8, 8)
    outs = [heads(feats, k) for k in range(5)]
    assert all(o.shape == (10, 1, 4, 4) for o in outs)
    assert len(heads.heads) == 5 and not torch.allclose(outs[0], outs[1])  # separate weights
    single = Heads(5, 24, single=True)
    assert len(single.heads) == 1 and torch.equal(single(feats, 0), single(feats, 4))
    with pytest.raises(IndexError):
        heads(feats, 5)


def test_group_norm_heads_cannot_see_a_global_scale_and_plain_heads_can():
    """A fake that differs from the real only in contrast: GroupNorm heads read both alike, norm "none" does not."""
    feats = torch.randn(4, 24, 8, 8)
    for norm, blind in (("group", True), ("none", False)):
        torch.manual_seed(0)
        head = Heads(1, 24, norm=norm).heads[0]
        torch.nn.init.zeros_(head.net[0].bias)  # a bias-free first conv: GroupNorm then undoes any input scale
        with torch.no_grad():
            same = torch.allclose(head(feats), head(1.5 * feats), atol=1e-4)
        assert same == blind
    with pytest.raises(ValueError, match="head norm"):
        Heads(1, 24, norm="batch")


def test_queue_fifo_bounded_and_state():
    q = LatentQueues(m=2, capacity=3)
    for i in range(4):
        q.push(1, torch.full((1, 2), float(i)), torch.full((1, 3), float(i)), torch.zeros(1, 1))
    assert q.size(1) == 3  # the oldest (0) was dropped
    lat, text, _ = q.pop(1, 2)
    assert lat[:, 0].tolist() == [1.0, 2.0] and text[:, 0].tolist() == [1.0, 2.0]  # FIFO, rows keep together
    state = q.state_dict()
    q2 = LatentQueues(2, 1)
    q2.load_state_dict(state)
    assert q2.size(1) == 1 and q2.pop(1, 1)[0][0, 0] == 3.0
    with pytest.raises(IndexError):
        q2.pop(1, 1)
    for i in range(4):
        q.push(2, torch.full((1, 2), float(i)), torch.full((1, 3), float(i)), None)
    drawn, text, _ = q.sample(2, 40, torch.Generator().manual_seed(0))  # with replacement, nothing removed
    assert drawn.shape == (40, 2) and set(drawn[:, 0].tolist()) == {1.0, 2.0, 3.0} and q.size(2) == 3
    assert torch.equal(drawn[:, 0], text[:, 0])  # rows keep together
    with pytest.raises(IndexError):
        q.sample(0, 1, torch.Generator())


def test_feature_layers_and_gradient_through_frozen_teacher():
    from accvideo.models.teacher import PRESETS, build_transformer, i2v_condition

    assert default_layers(60) == (59, 39)  # the paper's 60th and 40th layers
    PRESETS["test3"] = dict(PRESETS["test"], num_layers=3)
    teacher = build_transformer("test3")
    fe = TeacherFeatures(teacher)
    assert (fe.noisy_layer, fe.clean_layer) == (2, 1)
    assert fe.layer_for(0.0) == 1 and fe.layer_for(0.6) == 2
    x = torch.randn(2, 16, 5, 8, 8, requires_grad=True)
    feats = fe(x, 0.6, torch.randn(2, 5, 384), i2v_condition(None, tuple(x.shape)))
    assert feats.shape == (10, 24, 4, 4)  # frames folded into the batch, 2x2 patches
    feats.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_schedule_indices():
    from accvideo.schedules import flow_sigmas

    all_points = flow_sigmas(50, 7.0).float()
    assert schedule_indices(all_points, 5, "accvideo") == [0, 10, 20, 30, 40, 50]
    assert schedule_indices(all_points[[0, 10, 20, 30, 40, 50]], 5, "accvideo") == list(range(6))
    uni = schedule_indices(all_points, 5, "uniform")
    assert torch.allclose(all_points[uni], torch.linspace(1, 0, 6), atol=0.03)
    with pytest.raises(ValueError):
        schedule_indices(all_points[[0, 10, 20, 30, 40, 50]], 5, "uniform")


def cfg(data, teacher, out, **kw):
    base = dict(data=str(data), teacher=str(teacher), out=str(out), iters=3, batch_size=2, queue_capacity=8,
                checkpoint_every=1, threads=1, lr=1e-3)
    return DistillConfig(**{**base, **kw})


def test_three_iterations_change_student_not_teacher_and_resume_bit_exact(tiny_synvid, tiny_model_dir, tmp_path):
    from diffusers import WanTransformer3DModel

    from accvideo.distill.trainer import distill
    from accvideo.pipeline import SamplingSettings

    teacher_before = WanTransformer3DModel.from_pretrained(tiny_model_dir).state_dict()
    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a"))
    student = WanTransformer3DModel.from_pretrained(final).state_dict()  # stock diffusers loading
    teacher_after = WanTransformer3DModel.from_pretrained(tiny_model_dir).state_dict()
    assert all(torch.equal(teacher_before[k], teacher_after[k]) for k in teacher_before)
    assert any(not torch.equal(student[k], teacher_before[k]) for k in student)
    settings = SamplingSettings.load(final)
    assert settings.kind == "student" and settings.guidance == 1.0 and len(settings.sigmas) == 6
    rows = list(csv.DictReader(open(tmp_path / "a" / "losses-rank0.csv")))
    assert [int(r["k"]) for r in rows] == [4, 3, 2, 1, 0] * 3  # Algorithm 1: k = m-1 .. 0 per iteration
    assert all(float(r["traj"]) > 0 and float(r["disc"]) > 0 for r in rows)

    assert distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", stop_at=1)) is None
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b"), resume=True)
    from accvideo.resumable.state import load_checkpoint

    a = load_checkpoint(tmp_path / "a" / "checkpoint-rank0.json")
    b = load_checkpoint(tmp_path / "b" / "checkpoint-rank0.json")
    for key in ("student", "heads"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    for qa, qb in zip(a["queues"]["queues"], b["queues"]["queues"]):
        assert len(qa) == len(qb) and all(torch.equal(x[0], y[0]) for x, y in zip(qa, qb))


def test_on_step_gets_every_logged_row_live(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.trainer import Distiller

    seen = []
    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "live", iters=2)).run(on_step=seen.append)
    rows = list(csv.DictReader(open(tmp_path / "live" / "losses-rank0.csv")))
    assert [r["step"] for r in seen] == list(range(1, 11)) and [r["k"] for r in seen] == [4, 3, 2, 1, 0] * 2
    assert len(rows) == 10
    for live, logged in zip(seen, rows):
        assert all(float(logged[key]) == pytest.approx(live[key], rel=1e-5) for key in ("traj", "gen", "disc"))


def test_ablation_modes_run(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.trainer import distill

    for name, kw in {"traj": dict(mode="traj"), "adv": dict(mode="adv"),
                     "single": dict(single_head=True, schedule="uniform", adv_loss="hinge", grad_accum=2)}.items():
        distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / name, iters=1, **kw))
        rows = list(csv.DictReader(open(tmp_path / name / "losses-rank0.csv")))
        traj = [float(r["traj"]) for r in rows]
        disc = [float(r["disc"]) for r in rows]
        assert (max(traj) == 0) == (name == "adv") and (max(disc) == 0) == (name == "traj")


def test_traj_norm_first_weighs_each_interval_by_its_first_loss_and_resumes_bit_exact(tiny_synvid, tiny_model_dir,
                                                                                      tmp_path):
    from accvideo.distill.trainer import Distiller
    from accvideo.resumable.state import load_checkpoint

    plain = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "plain", iters=2, mode="traj"))
    plain.run()
    normed = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "normed", iters=2, mode="traj", traj_norm="first"))
    normed.run()
    rows = list(csv.DictReader(open(tmp_path / "normed" / "losses-rank0.csv")))
    first = {int(r["k"]): float(r["traj"]) for r in rows[:5]}  # logged unweighted
    assert plain.traj_weight(0, 5.0) == 1.0
    for k, value in first.items():
        assert normed.loss_ref[k] == pytest.approx(value, rel=1e-4)  # the CSV keeps 5 digits
        assert normed.traj_weight(k, 5.0) == pytest.approx(1 / value, rel=1e-4)
    assert len(set(first.values())) == 5  # the weights differ between intervals
    plain_rows = list(csv.DictReader(open(tmp_path / "plain" / "losses-rank0.csv")))
    assert plain_rows[0]["traj"] == rows[0]["traj"]  # same data and start (logged before any update)
    a = load_checkpoint(tmp_path / "plain" / "checkpoint-rank0.json")["student"]
    b = load_checkpoint(tmp_path / "normed" / "checkpoint-rank0.json")["student"]
    assert any(not torch.equal(a[k], b[k]) for k in a)  # from the second step on, the intervals' scales matter

    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "r", iters=2, mode="traj", traj_norm="first",
                  stop_at=1)).run()
    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "r", iters=2, mode="traj", traj_norm="first"),
              resume=True).run()
    c = load_checkpoint(tmp_path / "r" / "checkpoint-rank0.json")["student"]
    assert all(torch.equal(b[k], c[k]) for k in b)


def test_any_student_steps_from_one_keep_all_synvid(tiny_synvid, tiny_model_dir, tmp_path):
    """The step sweep: m = 3 and 1 from the 20-step keep-all SynVid; keys at j n / m steps, rounded half up."""
    from accvideo.distill.trainer import distill
    from accvideo.pipeline import SamplingSettings
    from accvideo.synvid.dataset import SynVidDataset

    sigmas = SynVidDataset(tiny_synvid).sigmas
    for m, idx in ((3, [0, 7, 13, 20]), (1, [0, 20])):
        final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / f"m{m}", iters=1, student_steps=m))
        rows = list(csv.DictReader(open(tmp_path / f"m{m}" / "losses-rank0.csv")))
        assert [int(r["k"]) for r in rows] == list(range(m - 1, -1, -1))
        settings = SamplingSettings.load(final)
        assert settings.steps == m and settings.sigmas == sigmas[idx].float().tolist()
    with pytest.raises(ValueError, match="from 1 to"):
        distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "m21", iters=1, student_steps=21))


def test_held_out_heads_check_counts_signs_and_logs_every_head(tiny_synvid, tiny_model_dir, tmp_path):
    """--holdout / --eval-every: held-out samples never enter a batch; heads.csv gets one row per head and check."""
    from accvideo.distill.trainer import Distiller

    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "h", iters=2, holdout=4, eval_every=1))
    assert trainer.batches.held_out() == [12, 13, 14, 15]
    drawn, read = [], trainer.batches.samples
    trainer.batches.samples = lambda ids, captions=None: drawn.extend(ids) or read(ids, captions)
    for step in range(60):
        trainer.batches(step, 0)
    trainer.batches.samples = read
    assert len(set(drawn)) == 12 and max(drawn) == 11  # every training sample, no held-out one
    heads = trainer.acc.unwrap_model(trainer.heads)
    for bias, real, fake in ((5.0, 1.0, 0.0), (-5.0, 0.0, 1.0)):  # constant logits: every sample on one side
        for head in heads.heads:
            torch.nn.init.zeros_(head.net[-1].weight)
            torch.nn.init.constant_(head.net[-1].bias, bias)
        rows = trainer.evaluate_heads()
        assert [r["k"] for r in rows] == [0, 1, 2, 3, 4]
        assert all((r["real_right"], r["fake_right"], r["accuracy"]) == (real, fake, 0.5) for r in rows)
        assert all(abs(r["logit_gap"]) < 1e-6 for r in rows)
    trainer.run()
    logged = list(csv.DictReader(open(tmp_path / "h" / "heads.csv")))
    assert [(int(r["step"]), int(r["k"])) for r in logged] == [(i, k) for i in (1, 2) for k in range(5)]
    assert all(0 <= float(r["accuracy"]) <= 1 for r in logged)


def test_extra_head_updates_read_other_samples_and_the_queue_and_resume_bit_exact(tiny_synvid, tiny_model_dir,
                                                                                  tmp_path):
    """--disc-steps 3: three head updates per inner step; the extra ones read other training samples (never
    held-out ones, never the step's own batch) and the student's latents in Q_k; resume stays bit-exact."""
    from accvideo.distill.trainer import Distiller
    from accvideo.resumable.state import load_checkpoint

    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a", iters=2, disc_steps=3, holdout=4))
    steps, step = [], trainer.opt_h.step
    trainer.opt_h.step = lambda *a, **kw: steps.append(1) or step(*a, **kw)
    replayed, replay = [], trainer._replayed_inputs
    trainer._replayed_inputs = lambda s, draw, k: replayed.append((s, draw, k)) or replay(s, draw, k)
    trainer.run()
    assert len(steps) == 3 * 5 * 2 and len(replayed) == 2 * 5 * 2
    assert sorted({draw for _, draw, _ in replayed}) == [1, 2]
    own = trainer.batches.samples
    ids = []
    trainer.batches.samples = lambda i, captions=None: ids.append(i) or own(i, captions)
    for stream in (0, 1, 1):
        trainer.batches(0, 4, stream=stream)
    assert ids[1] == ids[2] != ids[0] and max(max(i) for i in ids) < 12  # seeded, its own stream, no held-out

    assert Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", iters=2, disc_steps=3, holdout=4,
                         stop_at=1)).run() is None
    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", iters=2, disc_steps=3, holdout=4), resume=True).run()
    a, b = (load_checkpoint(tmp_path / run / "checkpoint-rank0.json") for run in ("a", "b"))
    for key in ("student", "heads"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "c", iters=2, holdout=4)).run()  # --disc-steps 1
    one = load_checkpoint(tmp_path / "c" / "checkpoint-rank0.json")
    assert any(not torch.equal(a["heads"][k], one["heads"][k]) for k in a["heads"])
    with pytest.raises(ValueError, match="disc_steps"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path / "d", disc_steps=0)
    with pytest.raises(ValueError, match="real-data baseline"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path / "d", disc_steps=2, data_kind="real")


def test_generate_with_exported_student(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.commands import main
    from accvideo.distill.trainer import distill
    from accvideo.video import read_mp4

    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "s", iters=1))
    out = tmp_path / "s.mp4"
    assert main(["generate", "--model", str(final), "--prompt", "a red circle", "--output", str(out), "--json"]) == 0
    assert read_mp4(out).shape == (17, 256, 256, 3)  # written enlarged 4x


def test_lora_student_trains_adapters_only_resumes_and_ships_them(tiny_synvid, tiny_model_dir, tmp_path):
    """--lora-rank: only the adapters move (the teacher's weights stay in the student), resume is bit-exact, and the
    export is a small adapter file that `accvideo generate` fuses onto the teacher, equal to the trained student."""
    from diffusers import WanTransformer3DModel

    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.export import export_checkpoint
    from accvideo.distill.trainer import Distiller, distill
    from accvideo.resumable.state import load_checkpoint

    teacher = WanTransformer3DModel.from_pretrained(tiny_model_dir).state_dict()
    lora = dict(lora_rank=2, lr=1e-2, iters=2)
    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "a", **lora))
    student = trainer.acc.unwrap_model(trainer.student)
    trainable = {n for n, p in student.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    plain_model = WanTransformer3DModel.from_pretrained(tiny_model_dir)
    linears = sum(isinstance(m, torch.nn.Linear) for b in plain_model.blocks for m in b.modules())
    assert len(trainable) == 2 * linears  # A and B on every Linear inside the blocks
    final = trainer.run()
    state = load_checkpoint(tmp_path / "a" / "checkpoint-rank0.json")["student"]
    for name, value in state.items():  # base weights are the teacher's, the B matrices left zero
        if "lora_" not in name:
            assert torch.equal(value, teacher[name.replace(".base_layer", "")]), name
    assert any(v.abs().max() > 0 for n, v in state.items() if "lora_B" in n)

    settings = ModelFolder.open(final).settings
    assert (settings.lora, settings.kind) == ("pytorch_lora_weights.safetensors", "student")
    assert not (final / "config.json").exists() and (final / settings.lora).stat().st_size < 200_000
    fused = ModelFolder.open(final).load(load_parts=False).transformer
    x = torch.randn(1, 36, 5, 16, 16)
    text = torch.randn(1, 8, 384)
    with torch.no_grad():
        got = fused(hidden_states=x, timestep=torch.tensor([500.0]), encoder_hidden_states=text).sample
        want = student.eval()(hidden_states=x, timestep=torch.tensor([500.0]), encoder_hidden_states=text).sample
        plain = plain_model(hidden_states=x, timestep=torch.tensor([500.0]), encoder_hidden_states=text).sample
    assert torch.allclose(got, want, atol=1e-5) and (got - plain).abs().max() > 1e-4

    assert distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", stop_at=1, **lora)) is None
    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", **lora), resume=True)
    resumed = load_checkpoint(tmp_path / "b" / "checkpoint-rank0.json")["student"]
    assert all(torch.equal(state[k], resumed[k]) for k in state)
    mid = export_checkpoint(tmp_path / "b", tmp_path / "mid")
    assert ModelFolder.open(mid).settings.lora == settings.lora
    from safetensors.torch import load_file

    a, b = load_file(final / settings.lora), load_file(mid / settings.lora)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # resumed run, same adapters


def test_export_checkpoint_mid_run_equals_the_final_export(tiny_synvid, tiny_model_dir, tmp_path, capsys):
    from diffusers import WanTransformer3DModel

    from accvideo.commands import main
    from accvideo.distill.data import key_sigmas
    from accvideo.distill.trainer import distill
    from accvideo.pipeline import SamplingSettings

    run = tmp_path / "run"
    assert distill(cfg(tiny_synvid, tiny_model_dir, run, iters=3, ema=0.5, stop_at=2)) is None  # stopped: no final
    from accvideo.resumable.state import load_checkpoint, save_checkpoint

    state = load_checkpoint(run / "checkpoint-rank0.json")
    del state["sigmas"]  # as in checkpoints written before sigmas were stored: recomputed from the run's config
    save_checkpoint(run / "checkpoint-rank0.json", state)
    assert main(["distill", "--out", str(run), "--export-checkpoint"]) == 0
    folder = run / "checkpoint-student"
    assert capsys.readouterr().out.strip() == str(folder)
    exported = WanTransformer3DModel.from_pretrained(folder).state_dict()
    assert all(torch.equal(exported[k], state["ema"][k]) for k in exported)  # the EMA weights are what ships
    settings = SamplingSettings.load(folder)
    final = SamplingSettings.load(distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "full", iters=2, ema=0.5)))
    assert settings.sigmas == final.sigmas == key_sigmas(json.loads((run / "distill_config.json").read_text()))
    assert settings.kind == "student" and settings.guidance == 1.0
    assert main(["distill", "--out", str(tmp_path / "nothing"), "--export-checkpoint"]) == 2


def test_two_process_smoke(tiny_synvid, tiny_model_dir, tmp_path):
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29541", "-m", "accvideo",
           "distill", "--data", str(tiny_synvid), "--teacher", str(tiny_model_dir), "--out", str(tmp_path / "ddp"),
           "--iters", "2", "--batch-size", "2", "--threads", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "ddp" / "final" / "config.json").exists()
    for rank in (0, 1):
        rows = list(csv.DictReader(open(tmp_path / "ddp" / f"losses-rank{rank}.csv")))
        assert len(rows) == 10


def test_real_data_baseline_targets_are_teacher_solutions(tiny_teacher_data, tiny_model_dir, tmp_path):
    from diffusers import WanTransformer3DModel

    from accvideo.distill.data import RealKeyBatches
    from accvideo.distill.trainer import distill
    from accvideo.schedules import flow_sigmas

    teacher = WanTransformer3DModel.from_pretrained(tiny_model_dir).eval()
    batches = RealKeyBatches(str(tiny_teacher_data), teacher, 5, 10, 7.0, 3.0, 2, 0)
    b = batches(0, 1)
    assert torch.allclose(batches.sigmas, flow_sigmas(10, 7.0)[[0, 2, 4, 6, 8, 10]].float())
    start, target = b["latents"][:, 5 - 2], b["latents"][:, 5 - 1]
    assert start.abs().sum() > 0 and target.abs().sum() > 0 and not torch.equal(start, target)
    assert torch.equal(batches(0, 1)["latents"], b["latents"])  # seeded by the step
    distill(cfg(tiny_teacher_data, tiny_model_dir, tmp_path / "real", iters=1, data_kind="real", teacher_steps=10))
    rows = list(csv.DictReader(open(tmp_path / "real" / "losses-rank0.csv")))
    assert len(rows) == 5 and all(float(r["traj"]) > 0 for r in rows)


def test_bad_settings_resume_changes_and_divergence_end_in_one_line(tiny_synvid, tiny_model_dir, tmp_path, capsys):
    from accvideo.commands import main

    base = ["distill", "--data", str(tiny_synvid), "--teacher", str(tiny_model_dir), "--batch-size", "2",
            "--threads", "1", "--checkpoint-every", "1"]
    assert main([*base, "--out", str(tmp_path / "zero"), "--iters", "0"]) == 2
    assert "iters must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "zero" / "final").exists()

    run = tmp_path / "run"
    assert main([*base, "--out", str(run), "--iters", "2", "--stop-at", "1", "--lr", "1e-4"]) == 0
    capsys.readouterr()
    assert main([*base, "--out", str(run), "--iters", "2", "--resume", "--lr", "3e-4"]) == 2
    err = capsys.readouterr().err
    assert "cannot change lr" in err and len(err.strip().splitlines()) == 1
    assert json.loads((run / "distill_config.json").read_text())["lr"] == 1e-4  # the record still tells the truth
    assert main([*base, "--out", str(run), "--iters", "2", "--resume", "--lr", "1e-4"]) == 0  # longer is fine

    wild = tmp_path / "wild"
    assert main([*base, "--out", str(wild), "--iters", "3", "--lr", "50"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("accvideo: error:")]
    assert len(errors) == 1 and "training diverged" in errors[0] and err.strip().endswith("try a lower --lr")
    assert not (wild / "final").exists()


def test_excluded_samples_never_enter_a_batch_and_nothing_else_changes(tiny_synvid, tmp_path):
    """--exclude FILE: the listed SynVid ids are left out of every batch; with none listed the draws are the
    ones of a run without the flag (old runs resume bit-exact)."""
    from accvideo.distill.data import KeyBatches, read_ids
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.resumable.loop import step_generator

    ds = SynVidDataset(tiny_synvid)
    ids_file = tmp_path / "misdrawn.txt"
    ids_file.write_text("# judged wrong\n3\n\n7  # two objects\n3\n")
    assert read_ids(str(ids_file)) == {3, 7}
    plain = KeyBatches(ds, 5, "accvideo", 2, 0)
    held = KeyBatches(ds, 5, "accvideo", 2, 0, exclude=read_ids(str(ids_file)))
    drawn, read = [], held.samples
    held.samples = lambda ids, captions=None: drawn.extend(ids) or read(ids, captions)
    for step in range(80):
        held(step, 0)
    assert sorted(set(drawn)) == [i for i in range(16) if i not in (3, 7)]
    first = torch.randperm(16, generator=step_generator(0, 5))[:2].tolist()  # what runs before --exclude drew
    assert torch.equal(plain(5)["latents"], plain.samples(first)["latents"])
    with pytest.raises(ValueError, match=r"excluded ids \[16\] are not samples"):
        KeyBatches(ds, 5, "accvideo", 2, 0, exclude=frozenset({16}))
    with pytest.raises(ValueError, match="exceeds the 2 training samples"):
        KeyBatches(ds, 5, "accvideo", 4, 0, exclude=frozenset(range(14)))
    (tmp_path / "bad.txt").write_text("3\nseven\n")
    with pytest.raises(ValueError, match="line 2: 'seven' is not a sample id"):
        read_ids(str(tmp_path / "bad.txt"))
    with pytest.raises(ValueError, match="cannot read the ids file"):
        read_ids(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="the real-data baseline has none"):
        DistillConfig(data="teacher_data.safetensors", data_kind="real", exclude=str(ids_file))


def test_a_run_with_excluded_samples_and_paraphrases_says_what_it_trained_on(tiny_synvid, tiny_model_dir, tmp_path):
    import json

    from accvideo.distill.trainer import distill

    ids_file = tmp_path / "misdrawn.txt"
    ids_file.write_text("0\n5\n9\n")
    para = tmp_path / "para.jsonl"
    para.write_text("".join(json.dumps({"id": i, "prompts": [f"scene {i} told again"]}) + "\n" for i in range(16)))
    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "x", iters=1, exclude=str(ids_file), mode="traj",
                        paraphrases=str(para), paraphrase_prob=1.0))
    info = json.loads((final / "training.json").read_text())
    assert (info["samples"], info["trained_samples"], info["config"]["exclude"]) == (16, 13, str(ids_file))
    assert info["config"]["paraphrases"] == str(para)


def test_paraphrases_swap_captions_at_their_rate_seeded_by_step_and_read_like_stored_ones(
        tiny_synvid, tiny_model_dir, text_encoder, tmp_path):
    """--paraphrases FILE: a sample is trained with one of its other captions with probability --paraphrase-prob,
    the same choice at the same step (bit-exact resume), its latents untouched; the paraphrase's text is what the
    teacher's encoder gives, stored in fp16 as SynVid stores its own."""
    import json

    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.data import KeyBatches, encode_paraphrases, read_paraphrases
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.resumable.loop import step_generator

    ds = SynVidDataset(tiny_synvid)
    texts = {i: [f"a large red square moving up, version {i}", f"a tiny blue circle staying still, version {i}"]
             for i in range(0, 16, 2)}  # odd samples have none
    para = tmp_path / "para.jsonl"
    para.write_text("\n".join(json.dumps({"id": i, "prompts": t}) for i, t in texts.items()) + "\n\n")
    assert read_paraphrases(str(para), 16) == texts
    backbone = ModelFolder.open(str(tiny_model_dir)).load("cpu", text_encoder=text_encoder)
    table = encode_paraphrases(backbone, texts, batch_size=3)
    plain = KeyBatches(ds, 5, "accvideo", 4, 0)
    never = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=0.0)
    always = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=1.0)
    half = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=0.5)
    assert torch.equal(never(3)["text_states"], plain(3)["text_states"])
    batch, own = always(3), plain(3)
    assert torch.equal(batch["latents"], own["latents"])
    ids = plain.pool[torch.randperm(16, generator=step_generator(0, 3))[:4]].tolist()
    for b, (i, c) in enumerate(zip(ids, always.caption_choices(ids, 3))):
        if i in texts:
            want = backbone.encode_text([texts[i][c]])[0].half().float()
            assert torch.equal(batch["text_states"][b], want) and not torch.equal(want, own["text_states"][b])
        else:
            assert c == -1 and torch.equal(batch["text_states"][b], own["text_states"][b])
    choices = [c for step in range(60) for c in half.caption_choices(list(range(0, 16, 2)), step)]
    swapped = sum(c >= 0 for c in choices) / len(choices)
    assert 0.4 < swapped < 0.6 and {c for c in choices if c >= 0} == {0, 1}
    assert half.caption_choices([0, 2, 4], 7) == half.caption_choices([0, 2, 4], 7)
    for line, match in (('{"id": 16, "prompts": ["x"]}', "id 16 is not a sample"),
                        ('{"id": 1, "prompts": []}', "non-empty strings"), ("[1, 2]", "line 1: not a")):
        (tmp_path / "bad.jsonl").write_text(line + "\n")
        with pytest.raises(ValueError, match=match):
            read_paraphrases(str(tmp_path / "bad.jsonl"), 16)
    with pytest.raises(ValueError, match="cannot read the paraphrases file"):
        read_paraphrases(str(tmp_path / "missing.jsonl"), 16)
    with pytest.raises(ValueError, match="paraphrase_prob must be in"):
        DistillConfig(data="x", paraphrase_prob=1.5)
