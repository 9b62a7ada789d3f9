"""`accvideo generate` end to end on a tiny random-weight teacher, and its bad-input errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from accvideo.commands import main
from accvideo.video import read_mp4, write_png


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "accvideo", *args], capture_output=True, text=True, timeout=300)


def test_generate_writes_17_frame_mp4_with_json(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    assert main(["generate", "--model", str(tiny_model_dir), "--prompt", "a small red circle moving left on a "
                 "black background", "--steps", "3", "--output", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    frames = read_mp4(out)
    assert frames.shape == (17, 256, 256, 3) and frames.dtype == np.uint8  # 64 x 64 written enlarged 4x
    assert record["steps"] == 3 and record["nfe"] == 6  # CFG doubles the evaluations
    assert record["output"] == str(out)
    parts = record["seconds_text"] + record["seconds_denoise"] + record["seconds_decode"]
    assert record["seconds_total"] == pytest.approx(parts, abs=1e-3)
    assert not list(tmp_path.glob(".*partial*"))


def test_generate_same_seed_same_clip_other_seed_differs(tiny_model_dir, text_encoder):
    from accvideo.pipeline import VideoGenerator

    gen = VideoGenerator.from_folder(str(tiny_model_dir), text_encoder=text_encoder)
    a = gen(["a big blue square"], [3], steps=2).frames
    b = gen(["a big blue square"], [3], steps=2).frames
    c = gen(["a big blue square"], [4], steps=2).frames
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_prompts_file_txt_and_jsonl(tiny_model_dir, tmp_path, capsys):
    txt = tmp_path / "p.txt"
    txt.write_text("a red circle\n\na blue square\n")
    assert main(["generate", "--model", str(tiny_model_dir), "--prompts", str(txt), "--steps", "1",
                 "--output-dir", str(tmp_path / "a"), "--seed", "10", "--json", "--frames", "5"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["seed"] for r in records] == [10, 11]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["0000.mp4", "0001.mp4"]
    image = np.zeros((64, 64, 3), np.uint8)
    write_png(tmp_path / "f.png", image)
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(json.dumps({"prompt": "a red circle", "seed": 5, "image": "f.png", "extra": 1}) + "\n")
    assert main(["generate", "--model", str(tiny_model_dir), "--prompts", str(jsonl), "--steps", "1",
                 "--output-dir", str(tmp_path / "b"), "--json", "--frames", "5"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["seed"] == 5 and read_mp4(tmp_path / "b" / "0000.mp4").shape == (5, 256, 256, 3)


def test_student_not_shipped_is_a_clear_error(tmp_path):
    from accvideo.pipeline import SHIPPED

    if (SHIPPED["student"] / "accvideo.json").exists():
        pytest.skip("a student is shipped")
    proc = run_cli("generate", "--model", "student", "--prompt", "a red circle", "--output", str(tmp_path / "s.mp4"))
    assert proc.returncode == 2 and "student" in proc.stderr and "distillation" in proc.stderr


def test_long_prompt_is_cut_with_a_one_line_warning(tiny_model_dir, tmp_path):
    out = tmp_path / "long.mp4"
    prompt = "a small red circle moving left on a gray background " * 20  # about 200 tokens
    proc = run_cli("generate", "--model", str(tiny_model_dir), "--prompt", prompt, "--output", str(out),
                   "--steps", "1", "--json")
    assert proc.returncode == 0 and out.exists()
    warning = [line for line in proc.stderr.splitlines() if line.startswith("accvideo: warning:")]
    assert len(warning) == 1 and "cut to the text encoder's 128" in warning[0]
    again = run_cli("generate", "--model", str(tiny_model_dir), "--prompt", "a red circle", "--output", str(out),
                    "--steps", "1", "--json")
    assert again.returncode == 0 and f"accvideo: warning: replacing {out}" in again.stderr


def test_output_into_an_unwritable_folder_is_refused_up_front(monkeypatch, tmp_path):
    import os

    from accvideo.commands.common import BadInput, check_writable

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a non-root user on a read-only folder
    with pytest.raises(BadInput, match="is not writable"):
        check_writable(tmp_path / "x.mp4")
