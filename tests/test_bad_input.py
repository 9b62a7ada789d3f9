"""Every command refuses bad input the same way: exit code 2, one line on stderr naming the flag or file, no
traceback, nothing written, and never a pickle loaded (one table, run through the real CLI)."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys

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
    for damage in ("weights", "config", "key", "settings"):
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
        else:
            (model / "accvideo.json").write_text("{bad")
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
        # synvid generate
        "synvid-steps": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out,
                         "--teacher-steps", "12"],
        "synvid-batch-0": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out, "--batch-size", "0"],
        "synvid-shard": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--out", out, "--batch-size", "2",
                         "--shard-size", "3"],
        "synvid-shapes-0": ["synvid", "generate", "--teacher", tiny(), "--shapes", "0", "--out", out],
        "synvid-foreign-folder": ["synvid", "generate", "--teacher", tiny(), "--shapes", "2", "--shard-size", "2",
                                  "--batch-size", "2", "--teacher-steps", "10", "--out", root / "user"],
        # distill
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
