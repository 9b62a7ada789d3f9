"""bench/new_terms.py: students named with their m, ON - OFF with bootstrap intervals, its own section."""

import pytest

from bench import new_terms
from bench.results_file import FEWER_STEPS, GPU_SECTION, NEW_TERMS, other_scripts_sections, replace_section


def test_its_section_goes_after_the_m_sweep_and_before_the_gpu_one_and_is_replaced_in_place():
    text = f"# Results\n\n{FEWER_STEPS}\n\nsweep\n\n{GPU_SECTION}\n\ngpu\n"
    once = replace_section(text, NEW_TERMS, f"{NEW_TERMS}\n\nfirst")
    assert once.index(FEWER_STEPS) < once.index(NEW_TERMS) < once.index(GPU_SECTION)
    twice = replace_section(once, NEW_TERMS, f"{NEW_TERMS}\n\nsecond")
    assert "first" not in twice and "second" in twice and "sweep" in twice and "gpu" in twice
    assert other_scripts_sections(twice) == f"{FEWER_STEPS}\n\nsweep\n\n{NEW_TERMS}\n\nsecond\n\n{GPU_SECTION}\n\ngpu\n"


def test_students_are_named_with_their_step_count():
    assert new_terms.parse_students(["a=runs/x/final@2", "b=student-m1@1"]) == {"a": ("runs/x/final", 2),
                                                                               "b": ("student-m1", 1)}
    with pytest.raises(SystemExit, match="NAME=FOLDER@M"):
        new_terms.parse_students(["runs/x@2"])


def test_a_term_that_moves_every_prompt_is_beyond_its_interval_and_a_null_one_is_not():
    from accvideo.evaluation.runner import PER_CLIP

    n = 100
    off = {"attribute_accuracy": [1.0] * 60 + [0.0] * 40, "shape_fidelity": [0.80] * n}
    on = {"attribute_accuracy": [1.0] * 60 + [0.0] * 40, "shape_fidelity": [0.85] * n}
    results = {"on@2": {"t2v": {PER_CLIP: on}}, "off@2": {"t2v": {PER_CLIP: off}}}
    lines = new_terms.pair_lines(results, "t2v", "on@2", "off@2", {"on@2": "on", "off@2": "off"})
    assert lines[0] == "- T2V all attributes: on - off = +0.000 [+0.000, +0.000]: within its interval"
    assert lines[1] == "- T2V shape fidelity: on - off = +0.050 [+0.050, +0.050]: moved beyond its interval"
