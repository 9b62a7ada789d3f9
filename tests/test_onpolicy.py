"""Eq. 6 on the student's own latents (--onpolicy): the teacher's solver, the loss in Algorithm 1, resume."""

import csv

import pytest
import torch

from accvideo.distill.config import DistillConfig


def cfg(data, teacher, out, **kw):
    base = dict(data=str(data), teacher=str(teacher), out=str(out), iters=2, batch_size=2,
                checkpoint_every=1, threads=1, lr=1e-3, traj_norm="first", onpolicy=1.0)
    return DistillConfig(**{**base, **kw})


def test_teacher_solver_retraces_the_recorded_synvid_trajectory(tiny_synvid, tiny_model_dir, text_encoder):
    """From a recorded latent, the solver over the teacher's own grid gives the next recorded key latent."""
    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.data import KeyBatches
    from accvideo.distill.onpolicy import TeacherSolver
    from accvideo.schedules import flow_sigmas
    from accvideo.synvid.dataset import SynVidDataset

    data = SynVidDataset(tiny_synvid, verify=False)
    s = data.settings  # 20 teacher steps, every point kept, 5 key intervals
    backbone = ModelFolder.open(str(tiny_model_dir)).load("cpu", text_encoder=text_encoder)
    grid = flow_sigmas(s.teacher_steps, s.shift)
    uncond = backbone.encode_text([""])
    batch = KeyBatches(data, 5, "accvideo", 4, 0).samples([0, 1, 2, 3])  # two T2V, two I2V among them
    lat, text, cond = batch["latents"], batch["text_states"], batch["condition"]
    t_from, t_to = float(grid[8]), float(grid[12])  # key timesteps t'_3 and t'_2
    exact = TeacherSolver(backbone, backbone.transformer, grid, s.guidance, uncond, steps=4)
    assert torch.allclose(exact.sigmas(t_from, t_to), grid[8:13])
    got = exact(lat[:, 2], t_from, t_to, text, cond)
    recorded = lat[:, 3]
    err = (got - recorded).abs().max() / recorded.abs().max()
    assert err < 1e-2  # the stored text is fp16, the recording read fp32
    coarse = TeacherSolver(backbone, backbone.transformer, grid, s.guidance, uncond, steps=1)
    assert torch.allclose(coarse.sigmas(t_from, t_to), grid[[8, 12]])
    assert (coarse(lat[:, 2], t_from, t_to, text, cond) - recorded).abs().max() > 10 * (got - recorded).abs().max()
    with pytest.raises(ValueError, match="not on the teacher"):
        exact.grid_index(0.5 * float(grid[1] + grid[2]))


def test_onpolicy_loss_is_logged_changes_the_student_and_resumes_bit_exact(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.trainer import Distiller
    from accvideo.resumable.state import load_checkpoint

    on = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "on"))
    on.run()
    off = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "off", onpolicy=0.0))
    off.run()
    rows = {name: list(csv.DictReader(open(tmp_path / name / "losses-rank0.csv"))) for name in ("on", "off")}
    assert all(float(r["onpolicy"]) > 0 for r in rows["on"]) and all(float(r["onpolicy"]) == 0 for r in rows["off"])
    assert rows["on"][0]["traj"] == rows["off"][0]["traj"]  # same data and start, logged before any update
    assert sorted(on.onpolicy_ref) == [0, 1, 2, 3, 4] and not off.onpolicy_ref
    a = load_checkpoint(tmp_path / "on" / "checkpoint-rank0.json")
    b = load_checkpoint(tmp_path / "off" / "checkpoint-rank0.json")
    assert any(not torch.equal(a["student"][k], b["student"][k]) for k in a["student"])

    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "split", iters=1)).run()
    resumed = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "split"), resume=True)
    assert resumed.onpolicy_ref == on.onpolicy_ref  # the first values come back from the checkpoint
    resumed.run()
    c = load_checkpoint(tmp_path / "split" / "checkpoint-rank0.json")
    assert all(torch.equal(a["student"][k], c["student"][k]) for k in a["student"])


def test_onpolicy_needs_the_queues_and_a_sane_setting(tiny_synvid, tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="needs SynVid data and the adversarial loss"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path, mode="traj")
    with pytest.raises(ValueError, match="onpolicy must be"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path, onpolicy=-1.0)


def test_onpolicy_keys_limit_the_term_to_chosen_intervals_and_resume(tiny_synvid, tiny_model_dir, tmp_path):
    """--onpolicy-keys 4 2: only those intervals log (and train on) the on-policy loss; a resumed run agrees."""
    from accvideo.distill.trainer import Distiller
    from accvideo.resumable.state import load_checkpoint

    whole = Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "whole", onpolicy_keys=(4, 2)))
    whole.run()
    rows = list(csv.DictReader(open(tmp_path / "whole" / "losses-rank0.csv")))
    assert len(rows) == 10
    assert {int(r["k"]) for r in rows if float(r["onpolicy"]) > 0} == {4, 2}
    assert all(float(r["onpolicy"]) == 0 for r in rows if int(r["k"]) in (3, 1, 0))
    assert sorted(whole.onpolicy_ref) == [2, 4]

    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "split", onpolicy_keys=(4, 2), iters=1)).run()
    with pytest.raises(ValueError, match="cannot change onpolicy_keys"):
        Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "split", onpolicy_keys=(4,)), resume=True)
    Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "split", onpolicy_keys=(4, 2)), resume=True).run()
    a = load_checkpoint(tmp_path / "whole" / "checkpoint-rank0.json")
    b = load_checkpoint(tmp_path / "split" / "checkpoint-rank0.json")
    assert all(torch.equal(a["student"][k], b["student"][k]) for k in a["student"])


def test_onpolicy_keys_bad_settings_are_one_line_errors(tiny_synvid, tiny_model_dir, tmp_path):
    from accvideo.distill.trainer import Distiller

    off = cfg(tiny_synvid, tiny_model_dir, tmp_path, onpolicy=0.0, onpolicy_keys=(4,))  # `--recipe shipped
    assert off.onpolicy == 0.0 and off.onpolicy_keys == (4,)  # --onpolicy 0`: the term is off, its keys unused
    with pytest.raises(ValueError, match="distinct key intervals"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path, onpolicy_keys=(4, 4))
    with pytest.raises(ValueError, match="distinct key intervals"):
        cfg(tiny_synvid, tiny_model_dir, tmp_path, onpolicy_keys=(-1,))
    with pytest.raises(ValueError, match=r"m = 5 has k = 0 \.\. 4"):
        Distiller(cfg(tiny_synvid, tiny_model_dir, tmp_path / "big", onpolicy_keys=(5,)))
    assert not (tmp_path / "big").exists()  # refused before anything was written
