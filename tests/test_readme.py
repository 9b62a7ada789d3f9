"""Every command in README.md runs as written: the make targets exist, every `accvideo` line parses with the real
parser and names files that are there, and the miniature's `generate` lines run (into a temporary folder)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from accvideo.commands import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PROGRAMS = ("make", "python", ".venv/bin/accvideo", "accvideo", "accelerate")  # what a shell line starts with


def commands() -> list[list[str]]:
    """The lines of README's shell code blocks (unlabelled or bash), continuation lines joined, comments dropped."""
    lines, block = [], None
    for line in README.splitlines():
        if line.startswith("```"):
            block = None if block is not None else line[3:]
        elif block in ("", "bash"):
            lines.append(line)
    joined = "\n".join(lines).replace("\\\n", " ")
    shell = [line.split("  # ")[0] for line in joined.splitlines() if line.split(" ", 1)[0] in PROGRAMS]
    return [shlex.split(line) for line in shell]


def accvideo_args(words: list[str]) -> list[str] | None:
    """The arguments after `accvideo` (or `-m accvideo` under accelerate), or None for another program."""
    if words[0] in (".venv/bin/accvideo", "accvideo"):
        return words[1:]
    if words[0] == "accelerate" and "accvideo" in words:
        return words[words.index("accvideo") + 1:]
    return None


def test_readme_is_a_short_product_page():
    assert len(README.splitlines()) <= 200
    assert re.search(r"```\nmake studio\nmake test\n```", README)  # the quick start: exactly the two commands
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"studio", "test", "lab"} <= set(targets)
    for link in re.findall(r"\]\(((?:docs|assets)/[^)#]+)\)", README):
        assert (ROOT / link).exists(), link


def test_every_accvideo_line_parses_and_names_existing_inputs():
    parser = build_parser()
    parsed = 0
    for words in commands():
        args = accvideo_args(words)
        if args is None:
            if words[0] == "python":
                assert (ROOT / words[1]).exists(), words
            continue
        parser.parse_args(args)
        parsed += 1
        for flag in ("--prompts", "--image"):
            if flag in args and not args[args.index(flag) + 1].startswith("prompts.txt"):
                assert (ROOT / args[args.index(flag) + 1]).exists(), words
    assert parsed >= 10


@pytest.mark.skipif(not (ROOT / "assets" / "student" / "accvideo.json").exists(), reason="no shipped student")
def test_the_generate_lines_run_on_the_miniature(tmp_path):
    lines = [accvideo_args(w) for w in commands() if w[0] == ".venv/bin/accvideo" and w[1] == "generate"]
    lines = [a for a in lines if "runs/distill" not in a]  # that one needs the distillation run above it
    assert len(lines) == 3
    for i, args in enumerate(lines):
        for flag in ("--output", "--output-dir"):
            if flag in args:
                args[args.index(flag) + 1] = str(tmp_path / f"{i}{Path(args[args.index(flag) + 1]).suffix}")
        proc = subprocess.run([sys.executable, "-m", "accvideo", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
