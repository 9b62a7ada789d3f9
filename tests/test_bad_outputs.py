"""Outputs are written only over regular files: a device, FIFO, socket, folder or link where an output goes is
refused with one line and exit code 2 before any model loads, and is still there, unchanged, afterwards."""

from __future__ import annotations

import os
import socket
import stat

import numpy as np
import pytest

from test_bad_input import cli_in_process

NODES = ("fifo", "socket", "device", "folder", "link")


def make_node(path, kind: str) -> socket.socket | None:
    """Put a node of `kind` at path (a socket stays bound while its object lives)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return sock
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    elif kind == "folder":
        path.mkdir()
    else:
        (path.parent / "target").write_text("the link's target")
        path.symlink_to(path.parent / "target")
    return None


@pytest.fixture
def no_model_loads(monkeypatch):
    """Any model load fails the test: the refusal must come first."""
    from accvideo.backbones.registry import ModelFolder
    from accvideo.pipeline import VideoGenerator

    def loaded(*args, **kwargs):
        raise AssertionError("a model loaded before the output was checked")

    monkeypatch.setattr(ModelFolder, "load", loaded)
    monkeypatch.setattr(VideoGenerator, "from_folder", loaded)


def command(name: str, node, model, tmp_path) -> list:
    """A command line whose output is `node` (for generate --prompts: its first clip)."""
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red circle\n")
    return {
        "generate": ["generate", "--model", model, "--prompt", "a red circle", "--steps", "1", "--output", node],
        "generate-prompts": ["generate", "--model", model, "--prompts", prompts, "--steps", "1", "--output-dir",
                             node.parent],
    }[name]


@pytest.mark.parametrize("kind", NODES)
@pytest.mark.parametrize("name", ["generate", "generate-prompts"])
def test_an_output_file_that_is_not_a_regular_file_is_refused_and_kept(name, kind, tiny_model_dir, tmp_path, capsys,
                                                                       no_model_loads):
    where = tmp_path / "outs"
    where.mkdir()
    node = where / "0000.mp4"
    keep = make_node(node, kind)
    before = os.lstat(node)
    try:
        code, err = cli_in_process(capsys, *command(name, node, tiny_model_dir, tmp_path))
    finally:
        if keep is not None:
            keep.close()
    errors = [line for line in err.splitlines() if line.startswith("accvideo: error:")]
    assert code == 2 and len(errors) == 1 and str(node) in errors[0], err
    word = {"fifo": "a FIFO", "socket": "a socket", "device": "a character device", "folder": "is a folder",
            "link": "a symbolic link"}[kind]
    assert word in errors[0] and "Traceback" not in err
    after = os.lstat(node)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    assert sorted(p.name for p in where.iterdir()) == ["0000.mp4"] + (["target"] if kind == "link" else [])


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
@pytest.mark.parametrize("name", ["synvid", "distill", "eval", "average-weights", "train-vae", "train-teacher"])
def test_an_output_folder_that_is_a_node_is_refused(name, kind, tiny_model_dir, tiny_synvid, tmp_path, capsys,
                                                     no_model_loads):
    node = tmp_path / "out"
    keep = make_node(node, kind)
    model = str(tiny_model_dir)
    args = {"synvid": ["synvid", "generate", "--teacher", model, "--shapes", "2", "--out", node],
            "distill": ["distill", "--data", tiny_synvid, "--teacher", model, "--out", node],
            "eval": ["eval", "--models", f"{model}@2", "--out", node],
            "average-weights": ["average-weights", model, model, "--out", node],
            "train-vae": ["train-vae", "--out", node],
            "train-teacher": ["train-teacher", "--data", tmp_path / "d.safetensors", "--out", node]}[name]
    try:
        code, err = cli_in_process(capsys, *args)
    finally:
        if keep is not None:
            keep.close()
    errors = [line for line in err.splitlines() if line.startswith("accvideo: error:")]
    assert code == 2 and len(errors) == 1 and "not a folder" in errors[0], err
    assert not stat.S_ISREG(os.lstat(node).st_mode) and sorted(tmp_path.iterdir()) == [node]


def test_a_device_node_is_named_as_one_without_being_touched():
    from accvideo.validation import InvalidInput, output_file

    before = os.stat("/dev/null")
    with pytest.raises(InvalidInput, match="is a character device, not a regular file"):
        output_file("/dev/null")
    assert os.stat("/dev/null").st_rdev == before.st_rdev and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_node_that_appears_after_the_check_is_not_replaced_either(tmp_path):
    """The rename at the end of a write checks again: a FIFO made there meanwhile stays, and no temporary file."""
    from accvideo.validation import InvalidInput
    from accvideo.video import write_mp4, write_png

    for name, write, data in (("x.png", write_png, np.zeros((16, 16, 3), np.uint8)),
                              ("x.mp4", write_mp4, np.zeros((2, 16, 16, 3), np.uint8))):
        node = tmp_path / name
        os.mkfifo(node)
        with pytest.raises(InvalidInput, match="a FIFO"):
            write(node, data)
        assert stat.S_ISFIFO(os.lstat(node).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp4", "x.png"]


def test_a_regular_file_is_still_replaced_with_a_warning(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"an old clip")
    code, err = cli_in_process(capsys, "generate", "--model", tiny_model_dir, "--prompt", "a red circle", "--steps",
                               "1", "--frames", "5", "--output", out)
    assert code == 0 and f"replacing {out}" in err and out.stat().st_size > 100


@pytest.mark.parametrize("flag", ["--prompts", "--image"])
def test_an_input_that_is_not_a_regular_file_is_refused_unread(flag, tiny_model_dir, tmp_path, capsys,
                                                                no_model_loads):
    """A FIFO given as the prompts file or the first frame would block the read forever: it is refused first."""
    node = tmp_path / ("p.txt" if flag == "--prompts" else "f.png")
    os.mkfifo(node)
    args = ["generate", "--model", tiny_model_dir, "--output", tmp_path / "o.mp4", flag, node]
    code, err = cli_in_process(capsys, *args, *(["--prompt", "a"] if flag == "--image" else []))
    errors = [line for line in err.splitlines() if line.startswith("accvideo: error:")]
    assert code == 2 and len(errors) == 1 and f"{node} is a FIFO, not a file" in errors[0], err
    assert sorted(tmp_path.iterdir()) == [node]
