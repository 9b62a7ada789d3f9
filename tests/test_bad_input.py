"""Every command refuses bad input the same way: exit code 2, one line on stderr naming the flag or file, no
traceback, nothing written, and never a pickle loaded (one table, run through the real CLI)."""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from accvideo.video import write_png


class Payload:
    """Unpickling this creates the marker file: proof that a pickle was loaded (and could have run code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# these go through `python -m accvideo` in a fresh interpreter; the others call the same entry point in-process
# (its argument parsing, commands and error handling; a fresh interpreter costs ~3 s of imports per case)
SUBPROCESS_CASES = {"unknown-model", "jsonl-broken", "distill-pickle", "synvid-foreign-folder", "steps-huge"}


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels and holds none: a decompression bomb's header, a few bytes long."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")


def cli(*args) -> tuple[int, str]:
    """(exit code, stderr) of `python -m accvideo ARGS`."""
    proc = subprocess.run([sys.executable, "-m", "accvideo", *map(str, args)], capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stderr


def cli_in_process(capsys, *args) -> tuple[int, str]:
    """(exit code, stderr) of accvideo.commands.main(ARGS), torch's thread count restored after."""
    import torch

    from accvideo.commands import main

    threads = torch.get_num_threads()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    finally:
        torch.set_num_threads(threads)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tiny_model_dir, tmp_path_factory):
    """Bad and good input files, and damaged copies of the tiny model folder."""
    root = tmp_path_factory.mktemp("bad")
    write_png(root / "small.png", np.zeros((32, 32, 3), np.uint8))
    (root / "junk.png").write_bytes(b"not an image at all")
    (root / "broken.jsonl").write_text("{not json\n")
    (root / "number.jsonl").write_text('{"prompt": 5}\n')
    (root / "bigseed.jsonl").write_text('{"prompt": "a red circle", "seed": 99999999999999999999}\n')
    (root / "p.csv").write_text("prompt\na red circle\n")
    (root / "p.txt").write_text("a red circle\n")
    (root / "image5.jsonl").write_text('{"prompt": "a red circle", "image": 5}\n')
    (root / "seed15.jsonl").write_text('{"prompt": "a red circle", "seed": 1.5}\n')
    (root / "seedtrue.jsonl").write_text('{"prompt": "a red circle", "seed": true}\n')
    (root / "list.jsonl").write_text('["a red circle"]\n')
    (root / "bomb.png").write_bytes(png_header(14000, 14000))
    (root / "bomb.jsonl").write_text('{"prompt": "a red circle", "image": "bomb.png"}\n')
    (root / "afile").write_text("a file, not a folder")
    (root / "dir.txt").mkdir()
    for damage in ("weights", "config", "key", "settings", "base", "steps"):
        shutil.copytree(tiny_model_dir.parent, root / damage)
        model = root / damage / tiny_model_dir.name
        if damage == "weights":
            weights = next(model.glob("*.safetensors"))
            weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        elif damage == "config":
            (model / "config.json").write_text("{bad")
        elif damage == "key":
            settings = json.loads((model / "accvideo.json").read_text())
            (model / "accvideo.json").write_text(json.dumps({**settings, "bogus": 1}))
        elif damage == "settings":
            (model / "accvideo.json").write_text("{bad")
        else:  # a LoRA base that is the folder itself, or a step count that is not a number
            settings = json.loads((model / "accvideo.json").read_text())
            (model / "accvideo.json").write_text(json.dumps({**settings, **({"base": "."} if damage == "base"
                                                                           else {"steps": "50"})}))
    user = root / "user"
    (user / "deep").mkdir(parents=True)
    (user / "thesis.tmp").write_text("draft")
    (user / "deep" / "auto.tmp").write_text("x")
    for run in ("vae-run", "teacher-run", "distill-run"):
        (root / run).mkdir()
    marker = root / "PICKLE-RAN"
    payload = pickle.dumps(Payload(marker))
    (root / "vae-run" / "checkpoint.pt").write_bytes(payload)
    (root / "teacher-run" / "checkpoint.pt").write_bytes(payload)
    (root / "distill-run" / "checkpoint-rank0.pt").write_bytes(payload)
    (root / "distill-run" / "distill_config.json").write_text("{}")
    (root / "data.pt").write_bytes(payload)
    return root


def case_args(case: str, root, model_dir, out) -> list:
    model = root.parent / "unused"
    gen = ["generate", "--output", out, "--steps", "1"]
    synvid = ["synvid", "generate", "--teacher", model_dir, "--shapes", "2", "--out", out]
    tiny = lambda damage=None: str(root / damage / model_dir.name) if damage else str(model_dir)  # noqa: E731
    return {
        # generate
        "empty-prompt": [*gen, "--model", tiny(), "--prompt", "  "],
        "unknown-model": [*gen, "--model", model, "--prompt", "a"],
        "frames-16": [*gen, "--model", tiny(), "--prompt", "a", "--frames", "16"],
        "frames-0": [*gen, "--model", tiny(), "--prompt", "a", "--frames", "0"],
        "height-0": [*gen, "--model", tiny(), "--prompt", "a", "--height", "0"],
        "width-0": [*gen, "--model", tiny(), "--prompt", "a", "--width", "0"],
        "guidance-nan": [*gen, "--model", tiny(), "--prompt", "a", "--guidance", "nan"],
        "guidance-inf": [*gen, "--model", tiny(), "--prompt", "a", "--guidance", "inf"],
        "steps-huge": ["generate", "--output", out, "--model", tiny(), "--prompt", "a", "--steps", "100000"],
        "seed-huge": [*gen, "--model", tiny(), "--prompt", "a", "--seed", "99999999999999999999"],
        "image-size": [*gen, "--model", tiny(), "--prompt", "a", "--image", root / "small.png"],
        "not-image": [*gen, "--model", tiny(), "--prompt", "a", "--image", root / "junk.png"],
        "prompts-missing": [*gen, "--model", tiny(), "--prompts", root / "missing.txt"],
        "prompts-csv": [*gen, "--model", tiny(), "--prompts", root / "p.csv"],
        "jsonl-broken": [*gen, "--model", tiny(), "--prompts", root / "broken.jsonl"],
        "jsonl-number": [*gen, "--model", tiny(), "--prompts", root / "number.jsonl"],
        "jsonl-seed-huge": [*gen, "--model", tiny(), "--prompts", root / "bigseed.jsonl"],
        "output-folder": ["generate", "--model", tiny(), "--prompt", "a", "--output", root],
        "truncated-weights": [*gen, "--model", tiny("weights"), "--prompt", "a"],
        "invalid-config": [*gen, "--model", tiny("config"), "--prompt", "a"],
        "unknown-setting": [*gen, "--model", tiny("key"), "--prompt", "a"],
        "invalid-settings": [*gen, "--model", tiny("settings"), "--prompt", "a"],
        "settings-base-loop": [*gen, "--model", tiny("base"), "--prompt", "a"],
        "settings-steps-string": [*gen, "--model", tiny("steps"), "--prompt", "a"],
        "jsonl-image-5": [*gen, "--model", tiny(), "--prompts", root / "image5.jsonl"],
        "jsonl-seed-float": [*gen, "--model", tiny(), "--prompts", root / "seed15.jsonl"],
        "jsonl-seed-bool": [*gen, "--model", tiny(), "--prompts", root / "seedtrue.jsonl"],
        "jsonl-list": [*gen, "--model", tiny(), "--prompts", root / "list.jsonl"],
        "image-bomb": [*gen, "--model", tiny(), "--prompt", "a", "--image", root / "bomb.png"],
        "image-folder": [*gen, "--model", tiny(), "--prompt", "a", "--image", root / "user"],
        "output-under-a-file": ["generate", "--model", tiny(), "--prompt", "a", "--output", root / "afile" / "o.mp4"],
        "output-dir-file": [*gen, "--model", tiny(), "--prompts", root / "p.txt", "--output-dir", root / "afile"],
        "prompts-folder": [*gen, "--model", tiny(), "--prompts", root / "dir.txt"],
        "guidance-negative": [*gen, "--model", tiny(), "--prompt", "a", "--guidance", "-1"],
        "context-parallel-0": [*gen, "--model", tiny(), "--prompt", "a", "--context-parallel", "0"],
        # synvid generate
        "synvid-steps": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out,
                         "--teacher-steps", "12"],
        "synvid-batch-0": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out, "--batch-size", "0"],
        "synvid-shard": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out, "--batch-size", "2",
                         "--shard-size", "3"],
        "synvid-shapes-0": ["synvid", "generate", "--teacher", tiny(), "--shapes", "0", "--out", out],
        "synvid-foreign-folder": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--shard-size", "2",
                                  "--batch-size", "2", "--teacher-steps", "10", "--out", root / "user"],
        "synvid-student-steps-0": [*synvid, "--student-steps", "0"],
        "synvid-student-steps-over": [*synvid, "--teacher-steps", "10", "--student-steps", "20"],
        "synvid-threads-0": [*synvid, "--threads", "0"],
        "synvid-guidance-nan": [*synvid, "--guidance", "nan"],
        "synvid-guidance-inf": [*synvid, "--guidance", "inf"],
        "synvid-guidance-negative": [*synvid, "--guidance", "-1"],
        "synvid-seed-negative": [*synvid, "--seed", "-1"],
        "synvid-i2v-nan": [*synvid, "--i2v-fraction", "nan"],
        "synvid-out-file": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", root / "afile"],
        "synvid-jsonl-image-5": ["synvid", "generate", "--teacher", tiny(), "--prompts", root / "image5.jsonl",
                                 "--out", out],
        "synvid-jsonl-seed-float": ["synvid", "generate", "--teacher", tiny(), "--prompts", root / "seed15.jsonl",
                                    "--out", out],
        "synvid-jsonl-bomb": ["synvid", "generate", "--teacher", tiny(), "--prompts", root / "bomb.jsonl",
                              "--out", out],
        # distill
        "distill-lr-0": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--lr", "0"],
        "distill-seed-negative": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--seed", "-1"],
        "distill-real-shapes-0": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--real-videos",
                                  "shapes:0"],
        "distill-out-file": ["distill", "--data", root, "--teacher", tiny(), "--out", root / "afile"],
        "distill-data-missing": ["distill", "--data", root / "missing", "--teacher", tiny(), "--out", out],
        "distill-data-file": ["distill", "--data", root / "afile", "--teacher", tiny(), "--out", out],
        "distill-not-synvid": ["distill", "--data", root / "user", "--teacher", tiny(), "--out", out],
        # eval, average-weights
        "eval-steps-huge": ["eval", "--models", f"{tiny()}@5000", "--out", out],
        "eval-threads-0": ["eval", "--models", f"{tiny()}@2", "--out", out, "--threads", "0"],
        "eval-out-file": ["eval", "--models", f"{tiny()}@2", "--out", root / "afile"],
        "average-out-file": ["average-weights", tiny(), tiny("key"), "--out", root / "afile"],
        "distill-iters-0": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--iters", "0"],
        "distill-lr-nan": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--lr", "nan"],
        "distill-no-data": ["distill", "--teacher", tiny(), "--out", out],
        "distill-onpolicy-keys": ["distill", "--data", root, "--teacher", tiny(), "--out", out, "--onpolicy", "1",
                                  "--onpolicy-keys", "3", "3"],
        "distill-pickle": ["distill", "--out", root / "distill-run", "--export-checkpoint"],
        # training
        "teacher-steps-0": ["train-teacher", "--data", root / "data.pt", "--out", out, "--steps", "0"],
        "teacher-lr-nan": ["train-teacher", "--data", root / "data.pt", "--out", out, "--lr", "nan"],
        "teacher-preset": ["train-teacher", "--data", root / "data.pt", "--out", out, "--preset", "huge"],
        "teacher-data-pickle": ["train-teacher", "--data", root / "data.pt", "--out", out, "--preset", "test"],
        "teacher-resume-pickle": ["train-teacher", "--data", root / "data.pt", "--out", root / "teacher-run",
                                  "--resume"],
        "vae-steps-0": ["train-vae", "--out", out, "--steps", "0"],
        "vae-batch-0": ["train-vae", "--out", out, "--batch-size", "0"],
        "vae-resume-pickle": ["train-vae", "--out", root / "vae-run", "--resume", "--steps", "2", "--batch-size", "2"],
        "vae-out-file": ["train-vae", "--out", root / "afile"],
        "vae-seed-negative": ["train-vae", "--out", out, "--seed", "-1"],
        "vae-threads-0": ["train-vae", "--out", out, "--threads", "0"],
        "teacher-out-file": ["train-teacher", "--data", root / "data.pt", "--out", root / "afile"],
        "teacher-data-under-a-file": ["train-teacher", "--data", root / "afile" / "d.safetensors", "--out", out],
    }[case]


CASES = {
    "empty-prompt": "empty prompt", "unknown-model": "not found", "frames-16": "1 + 4k", "frames-0": "1 + 4k",
    "height-0": "height must be", "width-0": "width must be", "guidance-nan": "finite", "guidance-inf": "finite",
    "steps-huge": "from 1 to 1000", "seed-huge": "--seed must be from 0 to", "image-size": "32x32",
    "not-image": "junk.png", "prompts-missing": "missing.txt", "prompts-csv": ".txt", "jsonl-broken": "broken.jsonl:1",
    "jsonl-number": "must be a string", "jsonl-seed-huge": "bigseed.jsonl:1: seed", "output-folder": "is a folder",
    "truncated-weights": "cannot load the model", "invalid-config": "config.json",
    "unknown-setting": "unknown setting(s) bogus", "invalid-settings": "accvideo.json: not valid JSON",
    "synvid-steps": "multiple of the student", "synvid-batch-0": "at least 1", "synvid-shard": "multiple of the batch",
    "synvid-shapes-0": "at least 1", "synvid-foreign-folder": "not empty and not a SynVid folder",
    "distill-iters-0": "iters must be at least 1", "distill-lr-nan": "lr must be a finite", "distill-no-data": "--data",
    "distill-onpolicy-keys": "distinct key intervals",
    "distill-pickle": "older version", "teacher-steps-0": "steps must be at least 1", "teacher-lr-nan": "lr must be",
    "teacher-preset": "unknown preset 'huge'", "teacher-data-pickle": "older version",
    "teacher-resume-pickle": "older version", "vae-steps-0": "steps must be at least 1",
    "vae-batch-0": "--batch-size must be at least 1", "vae-resume-pickle": "older version",
    # the second round (issue 36): numbers, JSON fields and paths, all before any model loads
    "settings-base-loop": "'base' leads back to", "settings-steps-string": "accvideo.json: steps must be a whole",
    "jsonl-image-5": "image5.jsonl:1: 'image' must be a string, got int",
    "jsonl-seed-float": "seed15.jsonl:1: seed must be a whole number, got 1.5",
    "jsonl-seed-bool": "seedtrue.jsonl:1: seed must be a whole number, got True", "jsonl-list": "list.jsonl:1",
    "image-bomb": "far larger than any clip", "image-folder": "is a folder, not a file",
    "output-under-a-file": "afile is not a folder", "output-dir-file": "--output-dir", "prompts-folder": "dir.txt is a folder",
    "guidance-negative": "--guidance must be a finite number >= 0", "context-parallel-0": "--context-parallel",
    "synvid-student-steps-0": "--student-steps must be from 1 to 50, got 0",
    "synvid-student-steps-over": "--student-steps must be from 1 to 10, got 20",
    "synvid-threads-0": "--threads must be at least 1", "synvid-guidance-nan": "--guidance must be a finite",
    "synvid-guidance-inf": "--guidance must be a finite", "synvid-guidance-negative": "--guidance must be a finite",
    "synvid-seed-negative": "--seed must be from 0", "synvid-i2v-nan": "--i2v-fraction must be a finite",
    "synvid-out-file": "afile is a file, not a folder", "synvid-jsonl-image-5": "'image' must be a string",
    "synvid-jsonl-seed-float": "seed must be a whole number", "synvid-jsonl-bomb": "far larger than any clip",
    "distill-lr-0": "--lr must be a finite number > 0", "distill-seed-negative": "--seed must be from 0",
    "distill-real-shapes-0": "shapes:N needs a whole number of clips N >= 1", "distill-out-file": "afile is a file",
    "distill-data-missing": "folder not found", "distill-data-file": "afile is a file, not a folder",
    "distill-not-synvid": "not a SynVid folder", "eval-steps-huge": "must be from 1 to 1000, got 5000",
    "eval-threads-0": "--threads must be at least 1", "eval-out-file": "afile is a file, not a folder",
    "average-out-file": "afile is a file, not a folder", "vae-out-file": "afile is a file, not a folder",
    "vae-seed-negative": "--seed must be from 0", "vae-threads-0": "--threads must be at least 1",
    "teacher-out-file": "afile is a file, not a folder", "teacher-data-under-a-file": "afile is not a folder",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_nothing_written(case, files, tiny_model_dir, tmp_path, capsys):
    root = files
    out = tmp_path / "out.mp4" if case.startswith(("empty", "unknown", "frames", "height", "width", "guidance",
                                                   "steps", "seed", "image", "not", "prompts", "jsonl", "output",
                                                   "truncated", "invalid")) else tmp_path / "out"
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    args = case_args(case, root, tiny_model_dir, out)
    code, stderr = cli(*args) if case in SUBPROCESS_CASES else cli_in_process(capsys, *args)
    assert code == 2, stderr[-1500:]
    errors = [line for line in stderr.splitlines() if line.startswith("accvideo: error:")]
    assert len(errors) == 1 and CASES[case] in errors[0], stderr[-1500:]
    assert "Traceback" not in stderr
    assert not out.exists() and sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written
    assert not (root / "PICKLE-RAN").exists()  # no pickle was ever loaded
