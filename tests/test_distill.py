"""Distillation: Algorithm 1 on tiny random models (train, resume bit-exact, export, ablations, LoRA)."""

import csv
import json
import subprocess
import sys

import pytest
import torch

from accvideo.distill.config import DistillConfig


def cfg(data, teacher, out, **kw):
    base = dict(data=str(data), teacher=str(teacher), out=str(out), iters=3, batch_size=2,
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

    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", iters=1))  # a shorter run, then --resume --iters 3
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
                     "single": dict(single_head=True, schedule="uniform", grad_accum=2)}.items():
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

    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "r", iters=1, mode="traj", traj_norm="first")).run()
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
    """--holdout: held-out samples never enter a batch; heads.csv gets one row per head and checkpoint."""
    from accvideo.distill.trainer import Distiller

    trainer = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "h", iters=2, holdout=4))
    assert trainer.batches.held_out() == [12, 13, 14, 15]
    drawn, read = [], trainer.batches.samples
    trainer.batches.samples = lambda ids: drawn.extend(ids) or read(ids)
    for step in range(60):
        trainer.batches(step, 0)
    trainer.batches.samples = read
    assert len(set(drawn)) == 12 and max(drawn) == 11  # every training sample, no held-out one
    heads = trainer.acc.unwrap_model(trainer.adversary.heads)
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


def test_generate_with_exported_student(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.commands import main
    from accvideo.distill.trainer import distill
    from accvideo.video import read_mp4

    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "s", iters=1))
    out = tmp_path / "s.mp4"
    assert main(["generate", "--model", str(final), "--prompt", "a red circle", "--output", str(out), "--json"]) == 0
    assert read_mp4(out).shape == (17, 256, 256, 3)  # written enlarged 4x


def test_init_starts_the_student_from_a_student_folder(tiny_synvid, tiny_model_dir, tmp_path):
    """--init: a run refines a given student (its weights, not the teacher's, are beta at iteration 0)."""
    from diffusers import WanTransformer3DModel

    from accvideo.distill.trainer import Distiller, distill

    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "s", iters=1))
    shipped = WanTransformer3DModel.from_pretrained(final).state_dict()
    teacher = WanTransformer3DModel.from_pretrained(tiny_model_dir).state_dict()
    start = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "r", init=str(final))).student_model().state_dict()
    assert all(torch.equal(start[k], shipped[k]) for k in shipped)
    assert any(not torch.equal(start[k], teacher[k]) for k in teacher)
    with pytest.raises(ValueError, match="choose one"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path / "x", init=str(final), lora_rank=2)


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

    distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "b", **{**lora, "iters": 1}))
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
    from accvideo.distill.config import DistillConfig
    from accvideo.distill.data import key_sigmas
    from accvideo.distill.trainer import distill
    from accvideo.pipeline import SamplingSettings

    run = tmp_path / "run"
    final = distill(cfg(tiny_synvid, tiny_model_dir, run, iters=2))
    from accvideo.resumable.state import load_checkpoint, save_checkpoint

    state = load_checkpoint(run / "checkpoint-rank0.json")
    del state["sigmas"]  # as in checkpoints written before sigmas were stored: recomputed from the run's config
    save_checkpoint(run / "checkpoint-rank0.json", state)
    assert main(["distill", "--out", str(run), "--export-checkpoint"]) == 0
    folder = run / "checkpoint-student"
    assert capsys.readouterr().out.strip() == str(folder)
    exported = WanTransformer3DModel.from_pretrained(folder).state_dict()
    shipped = WanTransformer3DModel.from_pretrained(final).state_dict()
    assert all(torch.equal(exported[k], state["student"][k]) and torch.equal(exported[k], shipped[k]) for k in exported)
    settings = SamplingSettings.load(folder)
    assert settings.sigmas == SamplingSettings.load(final).sigmas
    saved = json.loads((run / "distill_config.json").read_text())
    assert settings.sigmas == key_sigmas(DistillConfig.from_saved(saved))
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

    from accvideo.backbones.registry import from_parts

    teacher = from_parts(WanTransformer3DModel.from_pretrained(tiny_model_dir))
    batches = RealKeyBatches(str(tiny_teacher_data), teacher, 5, 10, 7.0, 3.0, 2, 0)
    b = batches(0, 1)
    assert torch.allclose(batches.sigmas, flow_sigmas(10, 7.0)[[0, 2, 4, 6, 8, 10]].float())
    start, target = b["latents"][:, 5 - 2], b["latents"][:, 5 - 1]
    assert start.abs().sum() > 0 and target.abs().sum() > 0 and not torch.equal(start, target)
    assert torch.equal(batches(0, 1)["latents"], b["latents"])  # seeded by the step
    distill(cfg(tiny_teacher_data, tiny_model_dir, tmp_path / "real", iters=1, data_kind="real"))
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
    assert main([*base, "--out", str(run), "--iters", "1", "--lr", "1e-4"]) == 0
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


def test_a_run_with_excluded_samples_says_what_it_trained_on(tiny_synvid, tiny_model_dir, tmp_path):
    import json

    from accvideo.distill.trainer import distill

    ids_file = tmp_path / "misdrawn.txt"
    ids_file.write_text("0\n5\n9\n")
    final = distill(cfg(tiny_synvid, tiny_model_dir, tmp_path / "x", iters=1, exclude=str(ids_file), mode="traj"))
    info = json.loads((final / "training.json").read_text())
    assert (info["samples"], info["trained_samples"], info["config"]["exclude"]) == (16, 13, str(ids_file))


@pytest.mark.parametrize("student", ["student", "student-m1", "student-m2", "student-m3"])
def test_a_saved_config_of_any_version_reads_back_as_a_distill_config(student):
    """Each shipped student's run config (recorded with options since removed) reads back as DistillConfig; a key no
    version wrote is refused."""
    from pathlib import Path

    saved = json.loads((Path(__file__).resolve().parent.parent / "assets" / student / "training.json").read_text())
    config = DistillConfig.from_saved({**saved["config"], "identity": {"data": None}})
    assert all(getattr(config, k) == (tuple(v) if isinstance(v, list) else v)
               for k, v in saved["config"].items() if k in DistillConfig.__dataclass_fields__)
    with pytest.raises(ValueError, match="unknown bogus"):
        DistillConfig.from_saved({**saved["config"], "bogus": 1})
