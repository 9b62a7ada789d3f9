"""The studio end to end: a live server over the tiny random-weight model on both sides, driven by
gradio_client (T2V, I2V, trajectory, 8 concurrent requests, refusals) and by headless Chromium."""

from __future__ import annotations

import argparse
import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from accvideo.video import read_image, read_mp4, write_png
from app.samples import shapes_first_frame

ARTIFACTS = Path(__file__).parent / "artifacts"
PROMPT = "a large red circle moving right on a black background"
CLIP = (17, 256, 256, 3)  # 64 x 64 clips, shown enlarged 4x
SETTINGS = (2, 1, 3.0, 64, 64, 17)  # teacher steps, student steps, guidance, height, width, frames
# both videos of a tab have a src and the browser has decoded a frame of each (HAVE_CURRENT_DATA)
PLAYING = ("Array.from(document.querySelectorAll('#{tab}-teacher video[src], #{tab}-student video[src]'))"
           ".filter(v => v.readyState >= 2).length == 2")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runner(tiny_model_dir, text_encoder):
    from app.runner import StudioRunner

    runner = StudioRunner(str(tiny_model_dir), str(tiny_model_dir), text_encoder=text_encoder)
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def server(runner):
    """The studio served on 127.0.0.1 at a free port; yields its URL."""
    from app.studio import build_demo, launch

    demo = build_demo(runner)
    assert not runner.loaded  # building the UI loads nothing
    _, url, _ = launch(demo, port=free_port(), block=False)
    assert url.startswith("http://127.0.0.1:")
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def clip(path) -> np.ndarray:
    return read_mp4(path["video"] if isinstance(path, dict) else path)


def check_pair(result, teacher_steps: int = 2, student_steps: int = 1) -> None:
    """Two playable 17-frame clips, each labelled with its wall time and NFE, and the speedup."""
    teacher_mp4, teacher_label, student_mp4, student_label, status = result
    for path in (teacher_mp4, student_mp4):
        frames = clip(path)
        assert frames.shape == CLIP and frames.dtype == np.uint8
    # the tiny model's settings ask for CFG 3, so each step costs two evaluations on both sides
    assert f"teacher @ {teacher_steps} steps" in teacher_label and f"{2 * teacher_steps} NFE" in teacher_label
    assert f"student @ {student_steps} step" in student_label and f"{2 * student_steps} NFE" in student_label
    assert " s · " in teacher_label and "speedup" in student_label and "speedup" in status


def test_text_to_video_and_image_to_video_endpoints(client, runner):
    from gradio_client import handle_file

    t2v = client.predict(PROMPT, 3, *SETTINGS, api_name="/text_to_video")
    check_pair(t2v)
    assert runner.loaded and runner.load_seconds is not None
    assert np.array_equal(clip(t2v[0]), clip(client.predict(PROMPT, 3, *SETTINGS, api_name="/text_to_video")[0]))

    image, caption, seed = client.predict(0, 64, 64, 17, api_name="/shapes_frame")
    first, expected_caption, expected_seed = shapes_first_frame(0)
    assert caption == expected_caption and seed == expected_seed == 1_000_000
    assert np.array_equal(read_image(image), first)  # lossless: the frame goes back up unchanged
    i2v = client.predict(handle_file(image), caption, seed, *SETTINGS, api_name="/image_to_video")
    check_pair(i2v)
    t2v_same = client.predict(caption, seed, *SETTINGS, api_name="/text_to_video")
    assert not np.array_equal(clip(i2v[0]), clip(t2v_same[0]))  # the first frame conditions the teacher
    sample = Path(__file__).parent.parent / "assets" / "samples" / "first_frame_0.png"
    check_pair(client.predict(handle_file(str(sample)), "a cyan circle", 5, *SETTINGS, api_name="/image_to_video"))


def test_api_parameters_have_names(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {"/text_to_video": ["prompt", "seed"], "/image_to_video": ["image", "prompt", "seed"]}
    for endpoint, first in names.items():
        params = [p["parameter_name"] for p in api[endpoint]["parameters"]]
        assert params == [*first, "teacher_steps", "student_steps", "guidance", "height", "width", "frames"]


def test_eight_concurrent_requests_are_all_answered(client):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda seed: client.predict(f"{PROMPT} {seed}", seed, *SETTINGS,
                                                            api_name="/text_to_video"), range(8)))
    assert len(results) == 8
    for result in results:
        check_pair(result)
    assert len({str(r[2]) for r in results}) == 8  # eight distinct student clips


@pytest.mark.parametrize("case, message", [
    ("empty-prompt", "prompt is empty"),
    ("blank-prompt", "prompt is empty"),
    ("over-size", "at most 256 x 256"),
    ("over-frames", "at most 33 frames"),
    ("bad-frames", "1 + 4k"),
    ("over-steps", "teacher steps must be from 1 to 100, got 500"),
    ("no-image", "needs a first frame"),
    ("wrong-size-image", "32 x 32 px but the clip is 64 x 64"),
    ("not-an-image", "not a readable image"),
    ("bad-shapes-clip", "from 0 to 999"),
    ("trajectory-steps", "must not exceed the teacher's (2)"),
])
def test_bad_requests_get_a_message_not_a_crash(client, tmp_path, case, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    small = write_png(tmp_path / "small.png", np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "text.png").write_text("not an image")
    calls = {
        "empty-prompt": lambda: client.predict("", 0, *SETTINGS, api_name="/text_to_video"),
        "blank-prompt": lambda: client.predict("   ", 0, *SETTINGS, api_name="/text_to_video"),
        "over-size": lambda: client.predict(PROMPT, 0, 2, 1, 3.0, 512, 64, 17, api_name="/text_to_video"),
        "over-frames": lambda: client.predict(PROMPT, 0, 2, 1, 3.0, 64, 64, 37, api_name="/text_to_video"),
        "bad-frames": lambda: client.predict(PROMPT, 0, 2, 1, 3.0, 64, 64, 16, api_name="/text_to_video"),
        "over-steps": lambda: client.predict(PROMPT, 0, 500, 1, 3.0, 64, 64, 17, api_name="/text_to_video"),
        "no-image": lambda: client.predict(None, PROMPT, 0, *SETTINGS, api_name="/image_to_video"),
        "wrong-size-image": lambda: client.predict(handle_file(str(small)), PROMPT, 0, *SETTINGS,
                                                   api_name="/image_to_video"),
        "not-an-image": lambda: client.predict(handle_file(str(tmp_path / "text.png")), PROMPT, 0, *SETTINGS,
                                               api_name="/image_to_video"),
        "bad-shapes-clip": lambda: client.predict(5000, 64, 64, 17, api_name="/shapes_frame"),
        "trajectory-steps": lambda: client.predict(PROMPT, 0, 2, 3, 3.0, 64, 64, 17, api_name="/trajectory"),
    }
    with pytest.raises(AppError, match=re.escape(message)):
        calls[case]()


def raw_call(server: str, endpoint: str, data: list) -> str:
    """The streamed answer of a raw /gradio_api/call request: no client, no upload, any JSON the caller likes."""
    import httpx

    event = httpx.post(f"{server}gradio_api/call/{endpoint}", json={"data": data}, timeout=30).json()["event_id"]
    with httpx.stream("GET", f"{server}gradio_api/call/{endpoint}/{event}", timeout=120) as answer:
        return answer.read().decode()


def test_image_to_video_reads_only_files_uploaded_into_gradios_cache(server, client, tmp_path):
    """A raw API call naming a server file (of the clip's size, of another size, missing, or linked from inside
    the cache) gets one message that says nothing of the file; Gradio itself refuses one with its metadata, or a
    bare string."""
    from gradio.utils import get_upload_folder
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from test_bad_input import png_header

    secret = write_png(tmp_path / "secret.png", np.full((64, 64, 3), 200, np.uint8))
    wrong = write_png(tmp_path / "wrong.png", np.zeros((32, 32, 3), np.uint8))
    link = Path(get_upload_folder()) / f"link-{tmp_path.name}.png"
    link.symlink_to(secret)
    try:
        for payload in [{"path": str(p)} for p in (secret, wrong, tmp_path / "missing.png", link)]:
            answer = raw_call(server, "image_to_video", [payload, PROMPT, 0, *SETTINGS])
            assert "event: error" in answer and "must be an image uploaded to the studio" in answer, answer
            assert "32 x 32" not in answer and "complete" not in answer
    finally:
        link.unlink()
    for payload in ({"path": str(secret), "meta": {"_type": "gradio.FileData"}}, str(secret)):
        answer = raw_call(server, "image_to_video", [payload, PROMPT, 0, *SETTINGS])
        assert "event: error" in answer and "complete" not in answer
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(14000, 14000))  # uploaded: refused from its header, never decoded
    with pytest.raises(AppError, match="far larger than any clip"):
        client.predict(handle_file(str(bomb)), PROMPT, 0, *SETTINGS, api_name="/image_to_video")


def test_server_still_answers_after_refusals(client):
    check_pair(client.predict(PROMPT, 11, *SETTINGS, api_name="/text_to_video"))


def test_trajectory_decodes_the_key_points(client, runner):
    strip, teacher, student, table, key, frame = client.predict(PROMPT, 4, 4, 2, 3.0, 64, 64, 17,
                                                                api_name="/trajectory")
    rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[2].strip() for row in rows] == ["0", "2", "4"]  # key_indices(4, 2)
    assert read_image(teacher).shape == read_image(student).shape == (256, 256, 3)  # 64 px tile, enlarged 4x
    assert read_image(strip).shape == (2 * 256 + 8, 3 * 256 + 16, 3)  # 2 rows x 3 key points, 2 px gaps
    assert key["maximum"] == 2 and frame["maximum"] == 16


def test_trajectory_view_and_example_cache(runner):
    from app.limits import make_request
    from app.studio import _videos, _view

    request = make_request(PROMPT, 7, 2, 1, 3.0, 64, 64, 5)
    panel = runner.trajectory(request)
    assert panel.teacher.shape == panel.student.shape == (2, 5, 64, 64, 3) and panel.rmse[0] == 0.0  # same noise
    strip, teacher, student = _view(panel, 9, 9)  # out-of-range slider values are clamped
    assert np.array_equal(teacher, panel.teacher[1, 4].repeat(4, 0).repeat(4, 1)) and strip.shape == (520, 520, 3)
    first = runner.compare(request, cache=True)
    again = runner.compare(request, cache=True)
    assert not first.cached and again.cached and np.array_equal(first.student.frames, again.student.frames)
    assert again.teacher.seconds == first.teacher.seconds and "from the cache" in _videos(runner, again)[4]


def test_missing_shipped_student_falls_back_to_the_teacher(tiny_model_dir, monkeypatch, tmp_path):
    import accvideo.pipeline as pipeline
    from app.runner import resolve_sides

    monkeypatch.setitem(pipeline.SHIPPED, "student", tmp_path / "no-student")
    teacher, student = resolve_sides(str(tiny_model_dir), "student")
    assert student.fallback and student.folder == teacher.folder and student.settings.steps == 5
    assert student.title(5) == "teacher @ 5 steps (no student shipped)"
    with pytest.raises(FileNotFoundError):  # an explicit student folder must exist
        resolve_sides(str(tiny_model_dir), str(tmp_path / "missing"))


def test_student_steps_pick_the_student_distilled_for_them(tiny_model_dir, text_encoder):
    from dataclasses import replace

    from accvideo.pipeline import SamplingSettings
    from app.limits import make_request
    from app.runner import StudioRunner
    from app.studio import _header, _students_note

    three = tiny_model_dir.parent / "student-m3"  # beside the tiny model, so its "../vae" still resolves
    shutil.copytree(tiny_model_dir, three, dirs_exist_ok=True)
    replace(SamplingSettings.load(three), kind="student", steps=3, guidance=1.0).save(three)
    runner = StudioRunner(str(tiny_model_dir), str(tiny_model_dir), text_encoder=text_encoder,
                          more_students=[str(three)])
    try:
        assert sorted(runner.students) == [3, 4] and runner.student_for(2) is runner.student
        assert "m = 3, 4" in _students_note(runner) and "student-m3" in _header(runner)
        picked = runner.compare(make_request(PROMPT, 5, 2, 3, 3.0, 64, 64, 5))
        assert picked.student.nfe == 3 and picked.student.guidance == 1.0  # its own settings: no CFG
        assert picked.student.title == "student @ 3 steps" and 3 in runner._more
        assert runner.students[3].title(2) == "student (distilled for 3 steps) @ 2 steps"
        other = runner.compare(make_request(PROMPT, 5, 2, 2, 3.0, 64, 64, 5))
        assert other.student.nfe == 4  # 2 steps of the first student, with its CFG 3
        panel = runner.trajectory(make_request(PROMPT, 5, 4, 3, 3.0, 64, 64, 5))
        assert panel.teacher_indices == [0, 1, 3, 4]  # 4 teacher steps over 3: rounded half up
    finally:
        runner.close()
    with pytest.raises(ValueError, match="two students for 3 steps"):
        StudioRunner(str(tiny_model_dir), str(three), text_encoder=text_encoder, more_students=[str(three)])


def test_studio_cli_puts_the_shipped_few_step_students_beside_the_shipped_student(tiny_model_dir, monkeypatch,
                                                                                  tmp_path):
    import accvideo.backbones.registry as registry
    from accvideo.commands.studio import add_parser, more_students

    for name in registry.FEW_STEP_STUDENTS:
        monkeypatch.setitem(registry.SHIPPED, name, tmp_path / name)  # none shipped
    monkeypatch.setitem(registry.SHIPPED, "student-m2", tiny_model_dir)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    assert more_students(parser.parse_args(["studio"])) == ["student-m2"]
    assert more_students(parser.parse_args(["studio", "--student", "runs/x"])) == []
    assert more_students(parser.parse_args(["studio", "--more-students", "a", "b"])) == ["a", "b"]


def test_studio_cli_refuses_a_missing_teacher_before_loading(tmp_path):
    from accvideo.commands.common import BadInput
    from accvideo.commands.studio import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["studio", "--teacher", str(tmp_path / "none")])
    assert (args.host, args.port, args.device, args.student) == ("127.0.0.1", 7860, "cpu", "student")
    with pytest.raises(BadInput, match="model folder not found"):
        args.func(args)


def test_browser_types_a_prompt_and_gets_two_videos_then_runs_an_example(server):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")  # screenshots are not committed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(server, wait_until="domcontentloaded", timeout=60_000)
            page.locator("#t2v-prompt textarea").fill(PROMPT)
            page.locator("#t2v-generate").click()
            page.wait_for_function(PLAYING.format(tab="t2v"), timeout=90_000)
            labels = page.locator("text=NFE").count()
            page.screenshot(path=str(ARTIFACTS / "studio.png"), full_page=True)
            page.get_by_role("tab", name="Image to video").click()  # an example: fills the inputs, then generates
            page.get_by_text("a large cyan circle moving down on a black background").first.click()
            page.wait_for_function(PLAYING.format(tab="i2v"), timeout=90_000)
            page.screenshot(path=str(ARTIFACTS / "studio_i2v_example.png"), full_page=True)
        finally:
            browser.close()
    assert labels >= 2
    assert (ARTIFACTS / "studio.png").stat().st_size > 10_000
