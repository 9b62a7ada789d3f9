"""The command layer's contracts: flags come from the stages' configs, imports go one way, the shared loop."""

from __future__ import annotations

import ast
import dataclasses
import time
from pathlib import Path

import pytest
import torch

from accvideo.commands import build_parser
from accvideo.commands.common import field_help
from accvideo.distill.config import DistillConfig
from accvideo.resumable.loop import TrainLoop, step_generator
from accvideo.training.teacher import TeacherTrainConfig
from accvideo.training.vae import VAETrainConfig

ROOT = Path(__file__).resolve().parent.parent
# subcommand argv (with what it requires), its config, fields set otherwise than by a flag of their own name
COMMANDS = [
    (["train-vae"], VAETrainConfig, {"export_at_stop": "--export"}),
    (["train-teacher"], TeacherTrainConfig, {}),
    (["distill", "--out", "x"], DistillConfig, {"mode": "--no-adv / --adv-only", "out": "required"}),
]


@pytest.mark.parametrize("argv,config,special", COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_flag_defaults_are_the_config_defaults(argv, config, special):
    args = vars(build_parser().parse_args(argv))
    for field in dataclasses.fields(config):
        if field.name in special:
            continue
        assert field.name in args, f"{field.name} has no flag"
        default = None if field.default is dataclasses.MISSING else field.default
        value = tuple(args[field.name]) if isinstance(args[field.name], list) else args[field.name]
        assert value == default, field.name


@pytest.mark.parametrize("config", [VAETrainConfig, TeacherTrainConfig, DistillConfig])
def test_every_config_field_has_its_help(config):
    helps = field_help(config)
    missing = [f.name for f in dataclasses.fields(config) if not helps.get(f.name)]
    assert not missing
    assert helps["seed"] and "#" not in "".join(helps.values())


def test_flags_parse_into_the_config():
    from accvideo.commands.common import config_from_args

    args = build_parser().parse_args(["distill", "--out", "o", "--data", "d", "--schedule", "uniform", "--dmd", "0.5",
                                      "--single-head", "--holdout", "3"])
    cfg = config_from_args(DistillConfig, args, mode="full")
    assert (cfg.schedule, cfg.dmd, cfg.single_head, cfg.holdout, cfg.mode, cfg.lr) == \
        ("uniform", 0.5, True, 3, "full", DistillConfig.lr)
    vae = config_from_args(VAETrainConfig, build_parser().parse_args(["train-vae", "--widths", "8", "16", "--export"]))
    assert vae.widths == (8, 16) and vae.export_at_stop


def test_a_wrong_choice_is_refused_by_the_config_itself():
    with pytest.raises(ValueError, match="schedule must be accvideo or uniform"):
        DistillConfig(data="d", schedule="cosine")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_imports_go_one_way():
    """Nothing below the command layer imports it, and only the command layer imports the app."""
    offenders = []
    for path in (ROOT / "accvideo").rglob("*.py"):
        if "commands" in path.relative_to(ROOT / "accvideo").parts or path.name == "__main__.py":
            continue  # the command layer, and `python -m accvideo`, which runs it
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in _imports(path)
                      if name.startswith("accvideo.commands") or name == "app" or name.startswith("app.")]
    for path in (ROOT / "app").rglob("*.py"):
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name in _imports(path)
                      if name.startswith("accvideo.commands")]
    assert not offenders


def test_no_backbone_name_branches_outside_the_backbones():
    """Code outside accvideo/backbones asks the backbone; it never compares a backbone's name."""
    offenders = []
    for path in [*(ROOT / "accvideo").rglob("*.py"), *(ROOT / "app").rglob("*.py")]:
        if "backbones" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                    isinstance(c, ast.Constant) and c.value in ("miniature", "wan-t2v", "wan-i2v", "hunyuan-t2v")
                    for c in [node.left, *node.comparators]):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def test_step_generator_draws_what_the_runs_so_far_drew():
    """Resumed runs (and committed checkpoints) rely on the formula: (seed * 1_000_003 + step) [* 64 + rank]."""
    a = torch.rand(3, generator=step_generator(2, 7))
    assert torch.equal(a, torch.rand(3, generator=torch.Generator().manual_seed(2 * 1_000_003 + 7)))
    b = torch.rand(3, generator=step_generator(2, 7, rank=3))
    assert torch.equal(b, torch.rand(3, generator=torch.Generator().manual_seed((2 * 1_000_003 + 7) * 64 + 3)))


def test_train_loop_checkpoints_stops_and_resumes():
    saved = []
    loop = TrainLoop(0, 10, lambda step: saved.append(step), every=4, desc="t", stop_at=6, disable=True)
    steps = list(loop)
    assert steps == [0, 1, 2, 3, 4, 5] and saved == [4, 6] and not loop.finished
    saved.clear()
    loop = TrainLoop(6, 10, lambda step: saved.append(step), every=4, desc="t", elapsed=100.0, disable=True)
    assert list(loop) == [6, 7, 8, 9] and saved == [8, 10] and loop.finished and loop.elapsed >= 100.0


def test_train_loop_leaves_untimed_stretches_out_and_honours_the_time_budget():
    loop = TrainLoop(0, 3, lambda step: None, every=10, desc="t", disable=True)
    for _ in loop:
        with loop.untimed():
            time.sleep(0.05)
    assert loop.elapsed < 0.05 and loop.finished
    saved = []
    loop = TrainLoop(0, 100, lambda step: saved.append(step), every=50, desc="t", max_minutes=1e-9, disable=True)
    assert list(loop) == [0] and saved == [1] and loop.out_of_time and not loop.finished
