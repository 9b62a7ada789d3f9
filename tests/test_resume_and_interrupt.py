"""Ctrl-C ends any command with one line saying what was kept (exit code 130), and what was kept is whole; distill
--resume knows a run by what its paths name, not how they were typed; distill refuses a teacher other than the one
that recorded its SynVid, unless told."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_bad_input import cli_in_process

DISTILL = ["--batch-size", "2", "--threads", "1", "--checkpoint-every", "1", "--iters", "3"]


def one_line(err: str, kind: str) -> str:
    """The single `accvideo: KIND:` line of stderr (and no traceback)."""
    lines = [line for line in err.splitlines() if line.startswith("accvideo:") and "warning" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"accvideo: {kind}: ") and "Traceback" not in err, err[-2000:]
    return lines[0]


def ctrl_c_as_in_a_terminal() -> None:
    """A child's SIGINT back to its default, as a terminal gives a command: a test run started in the background
    (`make test &`, nohup) ignores SIGINT, and a child would inherit that and never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_generate_prompts_keeps_the_finished_clips_and_says_so(tiny_model_dir, tmp_path):
    from accvideo.video import read_mp4

    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"a red circle {i}\n" for i in range(300)))
    out = tmp_path / "clips"
    proc = subprocess.Popen([sys.executable, "-m", "accvideo", "generate", "--model", str(tiny_model_dir), "--prompts",
                             str(prompts), "--steps", "4", "--output-dir", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_as_in_a_terminal)
    deadline = time.time() + 240
    while not (out / "0001.mp4").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    line = one_line(stderr, "interrupted")
    assert proc.returncode == 130
    kept = int(re.search(r"kept (\d+) finished clips", line).group(1))
    clips = sorted(out.iterdir())
    assert kept >= 2 and [p.name for p in clips] == [f"{i:04d}.mp4" for i in range(kept)]  # no partial file
    assert len([s for s in stdout.splitlines() if s.startswith("wrote ")]) == kept
    assert all(read_mp4(p).shape == (17, 256, 256, 3) for p in clips)  # written enlarged 4x


def test_ctrl_c_during_synvid_keeps_whole_batches_that_resume_uses(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import accvideo.synvid.run as run

    record, calls = run.record_batch, []

    def one_batch_then_ctrl_c(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return record(*args, **kwargs)

    out = tmp_path / "sv"
    args = ["synvid", "generate", "--teacher", tiny_model_dir, "--shapes", "4", "--batch-size", "2", "--shard-size",
            "4", "--teacher-steps", "10", "--threads", "1", "--out", out]
    monkeypatch.setattr(run, "record_batch", one_batch_then_ctrl_c)
    code, err = cli_in_process(capsys, *args)
    assert code == 130
    assert "kept 0 finished shard(s) and 1 finished batch(es)" in one_line(err, "interrupted") and "--resume" in err
    monkeypatch.setattr(run, "record_batch", lambda *a, **k: calls.append(2) or record(*a, **k))
    code, err = cli_in_process(capsys, *args, "--resume")
    assert code == 0 and (out / "COMPLETE").exists() and calls == [1, 2]  # the kept batch was not recorded again


def test_ctrl_c_during_distill_says_what_the_run_folder_holds(tiny_synvid, tiny_model_dir, tmp_path, capsys,
                                                              monkeypatch):
    from accvideo.distill.trainer import Distiller

    def ctrl_c(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Distiller, "run", ctrl_c)
    code, err = cli_in_process(capsys, "distill", "--data", tiny_synvid, "--teacher", tiny_model_dir, "--out",
                               tmp_path / "run", *DISTILL)
    assert code == 130 and "no checkpoint was written yet" in one_line(err, "interrupted")


def test_ctrl_c_before_anything_is_written_says_so(tiny_model_dir, tmp_path, capsys, monkeypatch):
    from accvideo.pipeline import VideoGenerator

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(VideoGenerator, "from_folder", ctrl_c)
    code, err = cli_in_process(capsys, "generate", "--model", tiny_model_dir, "--prompt", "a", "--output",
                               tmp_path / "o.mp4")
    assert code == 130 and one_line(err, "interrupted").endswith("nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_distill_resumes_from_another_folder_and_after_the_run_and_its_data_move(tiny_synvid, tiny_model_dir,
                                                                                  tmp_path, capsys, monkeypatch):
    from accvideo.commands import main

    shutil.copytree(tiny_synvid, tmp_path / "sv4")
    monkeypatch.chdir(tmp_path)
    assert main(["distill", "--data", "./sv4", "--teacher", str(tiny_model_dir), "--out", "k1/", *DISTILL,
                 "--iters", "1"]) == 0
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # another working folder, the teacher and data typed otherwise
    teacher = os.path.relpath(tiny_model_dir)
    assert main(["distill", "--data", str(tmp_path / "sv4") + "/", "--teacher", teacher, "--out", "../k1", *DISTILL,
                 "--iters", "2", "--resume"]) == 0, capsys.readouterr().err

    other = tmp_path / "sv-other"  # a SynVid of other content (its source differs) is still another dataset
    shutil.copytree(tmp_path / "sv4", other)
    settings = json.loads((other / "synvid.json").read_text())
    (other / "synvid.json").write_text(json.dumps({**settings, "source": "elsewhere"}))
    capsys.readouterr()
    assert main(["distill", "--data", str(other), "--teacher", teacher, "--out", "../k1", *DISTILL, "--resume"]) == 2
    assert "--resume cannot change data of the run" in one_line(capsys.readouterr().err, "error")

    moved = tmp_path / "runs" / "k1-moved"
    moved.parent.mkdir()
    shutil.move(tmp_path / "k1", moved)
    shutil.move(tmp_path / "sv4", tmp_path / "data")
    monkeypatch.chdir(moved.parent)
    assert main(["distill", "--data", "../data", "--teacher", str(tiny_model_dir), "--out", "k1-moved", *DISTILL,
                 "--resume"]) == 0, capsys.readouterr().err
    assert (moved / "final" / "accvideo.json").is_file()
    rows = list(csv.DictReader(open(moved / "losses-rank0.csv")))
    assert [int(r["iter"]) for r in rows] == [i for i in range(3) for _ in range(5)]  # each iteration once


@pytest.fixture(scope="module")
def other_teachers(tiny_model_dir, tmp_path_factory):
    """The tiny teacher with one weight changed, and a tiny teacher of the other architecture."""
    from safetensors.torch import load_file, save_file

    from conftest import make_tiny_model

    root = tmp_path_factory.mktemp("others")
    shutil.copytree(tiny_model_dir.parent, root / "changed")
    weights = next((root / "changed" / "model").glob("*.safetensors"))
    tensors = load_file(weights)
    first = sorted(tensors)[0]
    tensors[first] = tensors[first] + 1
    save_file(tensors, weights)
    return {"changed": root / "changed" / "model", "hunyuan": make_tiny_model(root / "hy", "test-hy")}


@pytest.mark.parametrize("which", ["changed", "hunyuan", "student"])
def test_distill_refuses_a_teacher_that_did_not_record_the_synvid(which, other_teachers, tiny_synvid, tiny_model_dir,
                                                                  tmp_path, capsys):
    teacher = other_teachers.get(which, which)
    code, err = cli_in_process(capsys, "distill", "--data", tiny_synvid, "--teacher", teacher, "--out",
                               tmp_path / "run", *DISTILL)
    line = one_line(err, "error")
    assert code == 2 and f"recorded by the teacher {tiny_model_dir} (" in line and f"not by {teacher} (" in line
    assert "--any-teacher" in line and not (tmp_path / "run").exists()
    if which == "hunyuan":
        assert "HunyuanVideoTransformer3DModel" in line


def test_any_teacher_overrides_the_check(other_teachers, tiny_synvid, tmp_path, capsys):
    code, err = cli_in_process(capsys, "distill", "--data", tiny_synvid, "--teacher", other_teachers["changed"],
                               "--out", tmp_path / "run", *DISTILL[:-1], "1", "--any-teacher")
    assert code == 0 and (tmp_path / "run" / "final").is_dir(), err[-2000:]


CTRL_C_WHILE_FFMPEG_FORKS = """
import os, signal, sys
import numpy as np
from accvideo.video import write_mp4

sent = []


def ctrl_c_once():  # a Ctrl-C that lands in Python's after-fork hook, as one can while ffmpeg starts
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))  # Python code after the signal: the handler runs here, inside the hook


os.register_at_fork(after_in_parent=ctrl_c_once)
frames = np.zeros((4, 64, 64, 3), np.uint8)
try:
    write_mp4(sys.argv[1], frames)
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_while_ffmpeg_starts_is_not_lost(tmp_path):
    """Python drops a KeyboardInterrupt raised in its after-fork hooks; imageio-ffmpeg forks with one. A Ctrl-C
    then must still stop the command (it once ran to its end), and the clip being written is not kept."""
    out = tmp_path / "clip.mp4"
    proc = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_FFMPEG_FORKS, str(out)], capture_output=True, text=True,
                          timeout=120, preexec_fn=ctrl_c_as_in_a_terminal)
    assert proc.returncode == 0 and proc.stdout.strip() == "interrupted", proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the clip nor its partial file
