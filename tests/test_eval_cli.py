"""`accvideo eval` on the tiny random-weight model: the three report files, their keys and ranges, bad specs."""

from __future__ import annotations

import argparse
import json
import re
import shutil

import pytest

import accvideo.commands
from accvideo.commands.evaluate import add_parser
from accvideo.evaluation.fidelity import PSNR_CAP_DB
from accvideo.evaluation.runner import load_generators
from accvideo.evaluation.specs import parse_specs
from accvideo.pipeline import SamplingSettings, VideoGenerator

RATES = ("attribute_accuracy", "colour_accuracy", "shape_accuracy", "motion_accuracy", "size_accuracy",
         "background_accuracy", "count_accuracy", "subject_consistency", "shape_fidelity")
NON_NEGATIVE = ("frechet_distance", "temporal_flicker", "sharpness", "seconds_per_clip")


@pytest.fixture
def main(monkeypatch):
    """accvideo.commands.main with `eval` alone registered."""

    def build_parser() -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(prog="accvideo")
        p.add_argument("--verbose", action="store_true")  # the global flag main() reads
        add_parser(p.add_subparsers(dest="command", required=True))
        return p

    monkeypatch.setattr(accvideo.commands, "build_parser", build_parser)
    return accvideo.commands.main


@pytest.fixture
def count_loads(monkeypatch):
    """Counts VideoGenerator.from_folder calls (one per distinct model folder is the contract)."""
    calls = []
    original = VideoGenerator.from_folder.__func__

    def from_folder(cls, model, *args, **kwargs):
        calls.append(model)
        return original(cls, model, *args, **kwargs)

    monkeypatch.setattr(VideoGenerator, "from_folder", classmethod(from_folder))
    return calls


def test_eval_writes_json_markdown_and_html(main, count_loads, tiny_model_dir, tmp_path):
    specs = [f"{tiny_model_dir}@4", f"{tiny_model_dir}@1"]  # the tiny teacher's full schedule is 4 steps
    out = tmp_path / "eval"
    assert main(["eval", "--models", ",".join(specs), "--prompts", "3", "--seed", "7", "--task", "both",
                 "--out", str(out), "--threads", "1"]) == 0
    assert len(count_loads) == 1  # one folder, loaded once for both specs
    report = json.loads((out / "metrics.json").read_text())
    config, results = report["config"], report["results"]
    assert config["reference"] == specs[0] and config["eval_seeds"] == [1_000_007, 1_000_009]
    ceiling = config["shape_fidelity_ceiling"]  # the rendered clips through the tiny (random) VAE
    assert ceiling["vae_of"] == specs[0] and 0.0 <= ceiling["value"] < 0.5
    assert list(results) == specs
    for spec, steps in zip(specs, (4, 1)):
        assert list(results[spec]) == ["t2v", "i2v"]
        for task, m in results[spec].items():
            assert all(0.0 <= m[k] <= 1.0 for k in RATES), m
            assert all(m[k] >= 0.0 for k in NON_NEGATIVE), m
            assert m["steps"] == steps and m["nfe"] == 2 * steps and m["clips"] == 3  # CFG: 2 NFE a step
            assert -1.0 <= m["teacher_ssim"] <= 1.0 and 0.0 < m["teacher_psnr_db"] <= PSNR_CAP_DB
            assert ("frame0_psnr_db" in m) == (task == "i2v")
            assert len(m["per_clip"]["attribute_accuracy"]) == len(m["per_clip"]["frechet_features"]) == 3
    for task in ("t2v", "i2v"):  # the reference against itself; the 1-step clips differ from it
        assert results[specs[0]][task]["teacher_ssim"] == pytest.approx(1.0)
        assert results[specs[0]][task]["teacher_psnr_db"] == PSNR_CAP_DB
        assert results[specs[1]][task]["teacher_psnr_db"] < PSNR_CAP_DB
    markdown = (out / "metrics.md").read_text()
    assert f"Shape fidelity ceiling (the prompts' rendered clips through {specs[0]}'s VAE): " in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    for spec in specs:
        assert sum(row.startswith(f"| {spec} | ") for row in rows) == 2  # one row per task table
    html = (out / "report.html").read_text()
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js embedded: it works offline
    names = [json.loads(m) for m in re.findall(r'"name":("(?:[^"\\]|\\.)*")', html)]  # the bar traces' names
    assert "Plotly.newPlot" in html and all(names.count(s) >= 10 for s in specs)  # a bar chart per metric


def test_eval_without_a_full_teacher_has_no_fidelity(main, tiny_model_dir, tmp_path):
    specs = [f"{tiny_model_dir}@2", f"{tiny_model_dir}@1"]
    out = tmp_path / "eval"
    assert main(["eval", "--models", ",".join(specs), "--prompts", "2", "--task", "i2v", "--out", str(out),
                 "--threads", "1"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["config"]["reference"] is None
    for spec in specs:
        assert list(report["results"][spec]) == ["i2v"]
        assert not any(k.startswith("teacher_") for k in report["results"][spec]["i2v"])


def test_eval_size_generates_and_judges_at_that_size(main, tiny_model_dir, tmp_path, monkeypatch):
    shapes = []
    original = VideoGenerator.__call__

    def spy(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        shapes.append(out.frames.shape[1:4])
        return out

    monkeypatch.setattr(VideoGenerator, "__call__", spy)
    out = tmp_path / "eval"
    assert main(["eval", "--models", f"{tiny_model_dir}@1", "--prompts", "2", "--task", "i2v", "--size", "32",
                 "--out", str(out), "--threads", "1"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["config"]["size"] == 32 and report["results"][f"{tiny_model_dir}@1"]["i2v"]["clips"] == 2
    assert shapes and set(shapes) == {(17, 32, 32)}  # warm-up and both clips at 32 x 32, 17 frames


def test_evaluate_keeps_per_clip_values_that_the_summary_is_the_mean_of(tiny_model_dir, text_encoder, tmp_path):
    import numpy as np

    from accvideo.evaluation.bootstrap import nan_mean
    from accvideo.evaluation.frechet import FEATURE_NAMES, frechet_distance
    from accvideo.evaluation.report import markdown_table, write_json
    from accvideo.evaluation.runner import FEATURES, PER_CLIP, RENDERED_FEATURES, evaluate
    from accvideo.quality import eval_prompts

    specs = parse_specs(f"{tiny_model_dir}@4,{tiny_model_dir}@1")
    results = evaluate(specs, load_generators(specs, text_encoder=text_encoder), eval_prompts(2), ("t2v", "i2v"),
                       reference=specs[0], progress=False)
    for spec in specs:
        for task, m in results[spec.text].items():
            per_clip = m[PER_CLIP]
            assert np.array(per_clip[FEATURES]).shape == np.array(per_clip[RENDERED_FEATURES]).shape \
                == (2, len(FEATURE_NAMES))
            assert per_clip[RENDERED_FEATURES] == results[specs[0].text]["t2v"][PER_CLIP][RENDERED_FEATURES]
            assert frechet_distance(np.array(per_clip[FEATURES]), np.array(per_clip[RENDERED_FEATURES])) \
                == pytest.approx(m["frechet_distance"])
            numbers = [k for k in per_clip if k not in (FEATURES, RENDERED_FEATURES)]
            assert {"attribute_accuracy", "shape_accuracy", "temporal_flicker", "sharpness", "subject_consistency",
                    "teacher_psnr_db", "teacher_ssim"} <= set(numbers)
            assert ("frame0_psnr_db" in numbers) == (task == "i2v")
            for key in numbers:  # in prompt order, the summary their mean (None: NaN, left out of both)
                assert len(per_clip[key]) == 2
                if m[key] is None:
                    assert per_clip[key] == [None, None]
                else:
                    assert nan_mean(np.array(per_clip[key], dtype=float)) == pytest.approx(m[key])
            assert set(per_clip["attribute_accuracy"]) <= {0.0, 1.0}
    assert results[specs[0].text]["i2v"][PER_CLIP]["teacher_psnr_db"] == [PSNR_CAP_DB] * 2
    write_json(results, {}, tmp_path / "metrics.json")  # valid JSON (no NaN), and it round-trips
    assert json.loads((tmp_path / "metrics.json").read_text())["results"] == results
    summaries = {s: {t: {k: v for k, v in m.items() if k != PER_CLIP} for t, m in per_task.items()}
                 for s, per_task in results.items()}
    assert markdown_table(results, "i2v") == markdown_table(summaries, "i2v")  # tables read the summary only


def test_load_generators_shares_text_encoder_and_vae(tiny_model_dir, tmp_path, text_encoder):
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    settings = SamplingSettings.load(other)
    settings.vae = str((tiny_model_dir / settings.vae).resolve())  # the same VAE, named by another path
    settings.save(other)
    gens = load_generators(parse_specs(f"{tiny_model_dir}@2,{other}@1,{tiny_model_dir}@1"), text_encoder=text_encoder)
    a, b = gens.values()
    assert len(gens) == 2 and a.text_encoder is b.text_encoder is text_encoder and a.vae is b.vae


@pytest.mark.parametrize("case", ["no-steps", "steps-zero", "steps-not-int", "unknown-model", "empty", "duplicate",
                                  "empty-item", "bad-reference", "no-prompts", "seed-past-eval",
                                  "out-is-a-file", "size-not-16k"])
def test_bad_specs_are_one_line_errors_with_exit_2(case, main, count_loads, tiny_model_dir, tmp_path, capsys):
    path = str(tiny_model_dir)
    models, extra = {
        "no-steps": (path, []),
        "steps-zero": (f"{path}@0", []),
        "steps-not-int": (f"{path}@five", []),
        "unknown-model": ("nosuchmodel@5", []),
        "empty": (" ", []),
        "duplicate": (f"{path}@1,{path}@1", []),
        "empty-item": (f"{path}@1,,{path}@2", []),
        "bad-reference": (f"{path}@1", ["--reference", f"{path}@50"]),
        "no-prompts": (f"{path}@1", ["--prompts", "0"]),
        "seed-past-eval": (f"{path}@1", ["--seed", "999999"]),
        "out-is-a-file": (f"{path}@1", []),
        "size-not-16k": (f"{path}@1", ["--size", "40"]),
    }[case]
    out = tmp_path / "eval"
    if case == "out-is-a-file":
        out = tmp_path / "taken.txt"
        out.write_text("")
    assert main(["eval", "--models", models, "--prompts", "2", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("accvideo: error:"), err
    assert not count_loads and (not out.exists() or out.read_text() == "")  # nothing loaded, nothing written


def test_speed_table_times_each_spec_and_ratios_against_the_first(tiny_model_dir, text_encoder, monkeypatch):
    from accvideo.evaluation.speed import PARTS, speed_table
    from accvideo.quality import eval_prompts

    cleared = []
    monkeypatch.setattr(text_encoder, "clear_cache", lambda: cleared.append(True))
    specs = parse_specs(f"{tiny_model_dir}@4,{tiny_model_dir}@1")
    rows = speed_table(specs, load_generators(specs, text_encoder=text_encoder), eval_prompts(2))
    assert [r.spec for r in rows] == [s.text for s in specs] and [r.nfe for r in rows] == [8, 2]
    assert len(cleared) == 4  # text encoding timed cold for every clip of every spec
    ref = rows[0].seconds
    for row in rows:
        assert set(row.seconds) == set(PARTS) and all(v > 0 for v in row.seconds.values())
        assert row.seconds["total"] >= row.seconds["denoise"]
        for part in PARTS:
            assert row.speedup[part] == pytest.approx(ref[part] / row.seconds[part])
    assert all(v == 1.0 for v in rows[0].speedup.values())
