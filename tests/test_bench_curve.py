"""bench/teacher_recipe.py --curve: a run's proxy.csv as markdown and as an SVG plot."""

import csv
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ["step", "wall_minutes", "cpu_minutes", "t2v_colour", "t2v_shape", "t2v_motion", "t2v_size", "t2v_all_three",
          "i2v_motion", "i2v_frame0_psnr", "rise_colour", "rise_shape", "rise_motion", "rise_size"]


def test_curve_prints_markdown_and_draws_each_rate_against_cpu_minutes(tmp_path):
    rows = [(1500, 30, 25, 0.9, 0.3, 0.5, 0.6, 0.25, 0.75, 29.0, 0.2, 0.02, 0.05, 0.1),
            (3000, 60, 50, 1.0, 0.5, 1.0, 0.8, 0.5, 1.0, 31.0, 0.5, 0.05, 0.2, 0.2)]
    with (tmp_path / "proxy.csv").open("w", newline="") as f:
        csv.writer(f).writerows([FIELDS, *rows])
    svg = tmp_path / "curve.svg"
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "teacher_recipe.py"), "--curve", str(tmp_path),
                          "--svg", str(svg)], capture_output=True, text=True, check=True).stdout
    assert "| 3000 | 60 | 50 | 100.0 % | 50.0 % |" in out
    root = ET.parse(svg).getroot()
    lines = [el for el in root.iter() if el.tag.endswith("polyline")]
    assert len(lines) == 3  # all three, shape, I2V motion
    all_three = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    (x0, y0), (x1, y1) = all_three
    assert x1 == 620.0 and x0 == 56 + 564 * 25 / 50  # CPU minutes 25 and 50 on a 564-px axis from 0 to 50
    assert y1 < y0 and abs(y0 - (20 + 230 * 0.75)) < 0.1  # 25 % and 50 %: higher is up


def test_m_sweep_pairs_each_student_with_the_teacher_at_its_steps_and_plots_them_by_nfe(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import m_sweep

    specs = m_sweep.sweep_specs("teacher", {5: Path("runs/m5/final"), 2: Path("runs/m2/final")}, 50)
    assert specs == {"teacher@50": "teacher@50", "teacher@5": "teacher@5", "student@5": "runs/m5/final@5",
                     "teacher@2": "teacher@2", "student@2": "runs/m2/final@2"}
    psnr = {"teacher@50": 100.0, "teacher@5": 27.0, "runs/m5/final@5": 29.0, "teacher@2": 18.0,
            "runs/m2/final@2": 25.0}
    nfe = {"teacher@50": 100, "teacher@5": 10, "runs/m5/final@5": 5, "teacher@2": 4, "runs/m2/final@2": 2}
    results = {s: {"t2v": {"teacher_psnr_db": psnr[s], "nfe": nfe[s]}} for s in psnr}
    svg = m_sweep.quality_svg(results, specs, [5, 2], "t2v", "teacher_psnr_db", "PSNR", (10.0, 40.0), percent=False)
    root = ET.fromstring(svg)
    student, teacher = [[tuple(map(float, p.split(","))) for p in el.get("points").split()]
                        for el in root.iter() if el.tag.endswith("polyline")]
    assert [x for x, _ in student] == sorted(x for x, _ in student) and len(student) == 2  # by NFE: m = 2, then 5
    assert student[0][1] < teacher[0][1]  # 25 dB at 2 NFE is drawn above 18 dB at 4 NFE (SVG y grows downwards)
    assert student[0][0] < teacher[0][0]  # and left of it
