"""`accvideo generate --model student --steps M`: the shipped student distilled for M steps, else the nearest one."""

import json

import pytest

from accvideo.backbones.registry import SHIPPED, shipped_student_for
from accvideo.commands import main
from accvideo.settings import SamplingSettings


@pytest.mark.parametrize("steps,name,off_grid", [(5, "student", False), (3, "student-m3", False),
                                                 (2, "student-m2", False), (1, "student-m1", False),
                                                 (4, "student", True), (12, "student", True)])
def test_each_step_count_runs_its_own_student_or_the_nearest(steps, name, off_grid):
    picked, note = shipped_student_for(steps)
    assert picked == name and (note is not None) == off_grid
    m = SamplingSettings.load(SHIPPED[picked]).steps
    assert m == steps or note == (f"no student distilled for {steps} steps ships: {name} (distilled for {m}) runs "
                                  f"off its grid at {steps}")


def test_generate_names_the_folder_that_ran(tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    assert main(["generate", "--model", "student", "--steps", "2", "--prompt", "a big red circle moving left on a "
                 "black background", "--output", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["model"] == str(SHIPPED["student-m2"]) and record["steps"] == 2 and record["nfe"] == 2
    assert main(["generate", "--model", "student", "--steps", "4", "--prompt", "a big red circle", "--output",
                 str(tmp_path / "four.mp4"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["model"] == str(SHIPPED["student"])
    assert "no student distilled for 4 steps ships: student (distilled for 5) runs off its grid at 4" in captured.err
