"""`accvideo distill --recipe paper|shipped`: named presets of DistillConfig; a flag given after --recipe wins."""

import argparse
import json
from pathlib import Path

import pytest

from accvideo.commands.common import config_from_args
from accvideo.commands.distill import add_parser
from accvideo.distill.config import RECIPES, DistillConfig

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def parse(*flags: str) -> DistillConfig:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(["distill", "--data", "d", "--out", "o", *flags])
    return config_from_args(DistillConfig, args, mode="full")


def test_shipped_recipe_is_the_shipped_students_config():
    saved = json.loads((ASSETS / "student" / "training.json").read_text())["config"]
    cfg = parse("--recipe", "shipped", "--exclude", "ids.txt")
    for name in RECIPES["shipped"]:
        mine = getattr(cfg, name)
        assert (list(mine) if isinstance(mine, tuple) else mine) == saved[name], name
    trained = {k: v for k, v in saved.items() if k not in ("data", "out", "exclude", "threads", *REMOVED)}
    differing = {k for k, v in trained.items() if (list(getattr(cfg, k)) if isinstance(getattr(cfg, k), tuple)
                                                    else getattr(cfg, k)) != v}
    assert not differing  # nothing of the shipped run's training is left to the defaults


# Settings that were flags until 2026-12-07, now fixed, with the value every shipped student was trained at (the
# trainer's constants), or None where the value is free: the removed arms cannot have changed a shipped student
REMOVED = {"ema": 0.0, "disc_steps": 1, "adv_loss": "nonsaturating", "head_norm": "group", "noisy_layer": None,
           "clean_layer": None, "sample_every": 0, "stop_at": None, "eval_every": 0, "paraphrases": None,
           "onpolicy_guidance": None, "real_shapes": 0, "disc_features": "teacher", "paraphrase_prob": 0.5,
           "queue_capacity": "QUEUE_CAPACITY", "max_loss": "MAX_LOSS", "max_rise": "MAX_RISE",
           "teacher_steps": "TEACHER_STEPS", "onpolicy_steps": "STEPS", "lr_fake": "lr"}


@pytest.mark.parametrize("student", ["student", "student-m1", "student-m2", "student-m3"])
def test_every_shipped_student_was_trained_at_the_values_the_removed_flags_are_now_fixed_at(student):
    from accvideo.distill import onpolicy, trainer
    from accvideo.schedules import TEACHER_STEPS

    saved = json.loads((ASSETS / student / "training.json").read_text())["config"]
    constants = {"QUEUE_CAPACITY": trainer.QUEUE_CAPACITY, "MAX_LOSS": trainer.MAX_LOSS,
                 "MAX_RISE": trainer.MAX_RISE, "TEACHER_STEPS": TEACHER_STEPS, "STEPS": onpolicy.STEPS}
    assert set(saved) - {f for f in DistillConfig.__dataclass_fields__} <= set(REMOVED)
    for name, fixed in REMOVED.items():
        if name not in saved or (name == "onpolicy_steps" and not saved.get("onpolicy")):
            continue  # recorded only from the version that added it; unused with the on-policy term off
        want = saved["lr"] if fixed == "lr" else constants.get(fixed, fixed) if isinstance(fixed, str) else fixed
        assert saved[name] == want, name


def test_paper_recipe_is_algorithm_1_as_published():
    cfg = parse("--recipe", "paper")
    assert (cfg.iters, cfg.lr, cfg.lr_heads, cfg.lambda_adv) == (1200, 5e-6, 5e-6, 0.1)
    assert cfg.batch_size * cfg.grad_accum == 32 and cfg.traj_norm == "none" and cfg.student_steps == 5
    assert cfg.mode == "full" and cfg.onpolicy == 0 and not cfg.uses_real and cfg.dmd == 0


@pytest.mark.parametrize("flags,lr", [(("--recipe", "shipped", "--lr", "1e-4"), 1e-4),
                                      (("--lr", "1e-4", "--recipe", "shipped"), 2e-4),
                                      (("--lr", "1e-4"), 1e-4)])
def test_a_flag_after_the_recipe_overrides_it(flags, lr):
    assert parse(*flags).lr == lr


def test_a_recipes_term_can_be_turned_off_after_it():
    cfg = parse("--recipe", "shipped", "--onpolicy", "0")
    assert cfg.onpolicy == 0.0 and cfg.onpolicy_keys == (2, 1, 0)  # the keys are unused with the term off


@pytest.mark.parametrize("student", ["student", "student-m1", "student-m2", "student-m3"])
def test_a_recipe_and_the_flags_bench_recipe_replay_adds_give_each_shipped_students_config(student):
    """bench/recipe_replay.py replays a shipped run as --recipe shipped plus the flags where the student differs;
    parsed, those flags are the student's training config, field for field (a field its version lacked: off)."""
    from bench.recipe_replay import BOOKKEEPING, PATHS, recipe_flags

    saved = json.loads((ASSETS / student / "training.json").read_text())["config"]
    flags = recipe_flags(saved, "shipped")
    assert flags[:2] == ["--recipe", "shipped"] and len(flags) <= 9  # the recipe and a few flags (student-m2: 9)
    cfg = parse(*flags)
    default = DistillConfig(data="d")
    for name in DistillConfig.__dataclass_fields__:
        if name in PATHS + BOOKKEEPING or (name == "onpolicy_keys" and not cfg.onpolicy):
            continue
        mine = getattr(cfg, name)
        want = saved.get(name, getattr(default, name))
        assert (list(mine) if isinstance(mine, tuple) else mine) == (list(want) if isinstance(want, tuple) else want), \
            name


def test_replayed_losses_are_compared_value_by_value():
    from bench.recipe_replay import differences

    shipped = [{"step": "1", "traj": "1.5", "gen": "0.7"}, {"step": "2", "traj": "0.2", "gen": "0.6"}]
    assert differences(shipped, [dict(r) for r in shipped]) == []
    assert differences(shipped, [shipped[0], {**shipped[1], "gen": "0.61"}]) == ["step 2 gen: shipped 0.6, replayed 0.61"]
    assert differences(shipped, shipped[:1]) == ["1 rows replayed, 2 shipped"]
