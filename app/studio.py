"""The AccVideo studio: the 50-step teacher and the 5-step student side by side, in Gradio.

`build_demo(runner)` returns the gr.Blocks (analytics off); `launch(demo, ...)` serves it on 127.0.0.1 (no share
link, a queue with a concurrency limit). Tabs: text to video, image to video (an uploaded first
frame of exactly the clip's size, or frame 0 of a Shapes world eval clip), and the trajectory view; a tab
shows only when both models can do its task (Wan2.1 T2V takes no first frame, Wan2.1 I2V needs one).
On the miniature, sample prompts and first frames (assets/samples) sit under each tab as examples; the first
click on one generates, later clicks are served from the runner's memory (gradio's own example cache would write
to .gradio/ under the working directory, i.e. the repo). Events take the raw UI values (preprocess=False), so
app.limits is the one gate with one kind of message; a first frame is read only from Gradio's upload cache (never
a server path named in an API call), its size from its header before its pixels, as `accvideo generate` does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from accvideo import validation
from accvideo.analysis import upscale
from accvideo.validation import ImageTooLarge, InvalidInput
from accvideo.video import read_image
from app.limits import (MAX_GUIDANCE, MAX_STEPS, RequestError, as_int, check_geometry_caps, check_image,
                        check_image_size, make_request, uploaded_file)
from app.runner import Comparison, StudioRunner
from app.samples import SAMPLES, SHAPES_CLIPS, i2v_samples, shapes_first_frame, t2v_samples
from app.trajectory import TrajectoryPanel, describe, grid

CONCURRENCY = 1  # model requests run at once (the runner serialises them anyway); others wait in the queue
QUEUE_SIZE = 32  # waiting requests beyond this are refused with a "queue full" message
MAX_UPLOAD = "2mb"  # largest uploaded first frame
CACHE_CLEANUP = (600, 3600)  # every 10 min, delete gradio's served files older than an hour
VIDEO_HEIGHT = 320  # px on the page (the browser scales the clip up)
VIEW_SCALE = 4  # trajectory tiles are enlarged this much (nearest neighbour)
HOST, PORT = "127.0.0.1", 7860
UNREADABLE = "the first frame is not a readable image: upload a PNG (or JPEG, WebP) of the clip's size"


def _first_frame(payload, uploads: Path, height: int, width: int) -> np.ndarray:
    """An unprocessed gr.Image value (a dict naming a file in Gradio's upload cache `uploads`) -> uint8 (H, W, 3)
    RGB of the clip's size, read as `accvideo generate --image` reads it; anything else is a RequestError."""
    if payload is None:
        check_image(None, height, width)  # "needs a first frame"
    path = uploaded_file(payload, uploads)
    try:
        size = validation.image_size(path, "the first frame")  # the header alone
    except ImageTooLarge as err:
        raise RequestError("the first frame is far larger than any clip: upload a PNG of the clip's size") from err
    except InvalidInput as err:
        raise RequestError(UNREADABLE) from err
    check_image_size(*size, height, width)
    try:
        image = read_image(path)
    except ValueError as err:
        raise RequestError(UNREADABLE) from err
    check_image(image, height, width)
    return image


def _videos(runner: StudioRunner, result: Comparison) -> tuple[str, str, str, str, str]:
    """Write both clips; return (teacher mp4, teacher label, student mp4, student label, status)."""
    teacher, student = runner.write_video(result.teacher.frames), runner.write_video(result.student.frames)
    status = f"same prompt, same seed: speedup **{result.speedup:.1f}x** (teacher wall time / student wall time)"
    if result.cached:
        status += " · example served from the cache (timings of its first run)"
    if runner.load_seconds is not None:
        status += f" · models loaded once in {runner.load_seconds:.1f} s"
    return (str(teacher), result.teacher.label(), str(student), result.student.label(result.speedup), status)


def _progress(progress: gr.Progress):
    return lambda fraction, text: progress(fraction, desc=text)


def _compare(runner: StudioRunner, progress: gr.Progress, *values, image=None, uploads: Path | None = None,
             cache: bool = False) -> tuple[str, str, str, str, str]:
    """Validate the raw UI values (and, for image to video, the first frame uploaded into `uploads`), run both
    sides, write the clips; refusals become a visible gr.Error."""
    try:
        request = make_request(*values, caps=runner.caps)
        if uploads is not None:
            request = replace(request, image=_first_frame(image, uploads, request.height, request.width))
        return _videos(runner, runner.compare(request, _progress(progress), cache=cache))
    except InvalidInput as err:
        raise gr.Error(str(err), print_exception=False) from err


def _students_note(runner: StudioRunner) -> str:
    """With students for several m: which m's there are, and that the student steps pick one."""
    if len(runner.students) == 1:
        return ""
    ms = ", ".join(str(m) for m in sorted(runner.students))
    return (f" Students distilled for m = {ms} steps: *student steps* picks the one for its m (any other count runs "
            f"the {runner.student.settings.steps}-step student at that many steps).")


def _settings(runner: StudioRunner) -> list[gr.components.Component]:
    """The shared settings (teacher steps, student steps, guidance, height, width, frames), in an Accordion."""
    t, s = runner.teacher.settings, runner.student.settings
    caps = runner.caps
    with gr.Accordion("Settings (shared by every tab)", open=False):
        with gr.Row():
            teacher_steps = gr.Slider(1, MAX_STEPS, value=t.steps, step=1, label="teacher steps")
            student_steps = gr.Slider(1, MAX_STEPS, value=s.steps, step=1, label="student steps")
            guidance = gr.Slider(1.0, MAX_GUIDANCE, value=t.guidance, step=0.5, label="teacher guidance (CFG; 1 = off)")
        with gr.Row():
            height = gr.Number(t.height, precision=0, label=f"height (px, multiple of 16, at most {caps.max_side})")
            width = gr.Number(t.width, precision=0, label=f"width (px, multiple of 16, at most {caps.max_side})")
            frames = gr.Number(t.frames, precision=0, label=f"frames (1 + 4k, at most {caps.max_frames})")
        cfg = "no CFG (its settings say guidance 1)" if s.guidance == 1.0 else f"CFG {s.guidance:g} (its settings)"
        gr.Markdown(f"The student side always runs with {cfg}. The defaults come from each model's accvideo.json."
                    + _students_note(runner))
    return [teacher_steps, student_steps, guidance, height, width, frames]


def _outputs(prefix: str) -> list[gr.components.Component]:
    """Two labelled videos side by side, and a status line below them."""
    with gr.Row(equal_height=True):
        with gr.Column():
            teacher_video = gr.Video(label="teacher", elem_id=f"{prefix}-teacher", interactive=False, autoplay=True,
                                     loop=True, height=VIDEO_HEIGHT)
            teacher_label = gr.Markdown("**teacher**")
        with gr.Column():
            student_video = gr.Video(label="student", elem_id=f"{prefix}-student", interactive=False, autoplay=True,
                                     loop=True, height=VIDEO_HEIGHT)
            student_label = gr.Markdown("**student**")
    status = gr.Markdown("")
    return [teacher_video, teacher_label, student_video, student_label, status]


def _text_to_video_tab(runner: StudioRunner, settings: list) -> None:
    with gr.Tab("Text to video", id="t2v"):
        with gr.Row():
            prompt = gr.Textbox(label="prompt", placeholder="a large red circle moving right on a black background",
                                scale=4, elem_id="t2v-prompt")
            seed = gr.Number(0, precision=0, label="seed (drives both sides)", scale=1)
        run = gr.Button("Generate", variant="primary", elem_id="t2v-generate")
        outputs = _outputs("t2v")

        def text_to_video(prompt, seed, teacher_steps, student_steps, guidance, height, width, frames,
                          progress=gr.Progress(track_tqdm=True)):
            """Teacher and student clips of one prompt from the same seed (named parameters: the API shows them)."""
            return _compare(runner, progress, prompt, seed, teacher_steps, student_steps, guidance, height, width,
                            frames)

        def cached(prompt, seed, *rest, progress=gr.Progress(track_tqdm=True)):
            return _compare(runner, progress, prompt, seed, *rest, cache=True)

        inputs = [prompt, seed, *settings]
        gr.on([run.click, prompt.submit], text_to_video, inputs, outputs, api_name="text_to_video",
              concurrency_id="models", concurrency_limit=CONCURRENCY, preprocess=False)
        samples = t2v_samples() if runner.miniature else []  # Shapes world prompts
        if samples:
            examples = gr.Examples([list(s) for s in samples], [prompt, seed], label="Examples (assets/samples)")
            examples.load_input_event.then(cached, inputs, outputs, api_visibility="undocumented",
                                           concurrency_id="models", concurrency_limit=CONCURRENCY, preprocess=False)


def _image_to_video_tab(runner: StudioRunner, settings: list) -> None:
    height, width, frames = settings[3:]
    uploads = Path(get_upload_folder())  # where Gradio puts uploads and example files: the only files read
    with gr.Tab("Image to video", id="i2v"):
        with gr.Row():
            image = gr.Image(label="first frame (exactly the clip's size; not resized)", type="filepath",
                             sources=["upload", "clipboard"], height=256, format="png", elem_id="i2v-image")
            with gr.Column():
                with gr.Row(visible=runner.miniature):  # Shapes world frames suit only the miniature
                    clip = gr.Number(0, precision=0, label=f"Shapes world eval clip # (0 to {SHAPES_CLIPS - 1})")
                    pick = gr.Button("Use frame 0 of this Shapes world clip")
                prompt = gr.Textbox(label="prompt", elem_id="i2v-prompt")
                seed = gr.Number(0, precision=0, label="seed (drives both sides)")
                run = gr.Button("Generate", variant="primary", elem_id="i2v-generate")
        outputs = _outputs("i2v")

        def shapes_frame(index, height, width, frames):
            """Frame 0 of a one-object eval clip at the clip size, its canonical caption, and its seed."""
            try:
                size = as_int("height", height), as_int("width", width), as_int("frames", frames)
                check_geometry_caps(*size, runner.caps)
                first, caption, clip_seed = shapes_first_frame(as_int("Shapes world clip #", index), *size)
            except (InvalidInput, ValueError, TypeError) as err:
                raise gr.Error(str(err), print_exception=False) from err
            return first, caption, clip_seed

        def image_to_video(image, prompt, seed, teacher_steps, student_steps, guidance, height, width, frames,
                           progress=gr.Progress(track_tqdm=True)):
            """Teacher and student clips from one first frame and prompt (named parameters: the API shows them)."""
            return _compare(runner, progress, prompt, seed, teacher_steps, student_steps, guidance, height, width,
                            frames, image=image, uploads=uploads)

        def cached(image, prompt, seed, *rest, progress=gr.Progress(track_tqdm=True)):
            return _compare(runner, progress, prompt, seed, *rest, image=image, uploads=uploads, cache=True)

        pick.click(shapes_frame, [clip, height, width, frames], [image, prompt, seed], api_name="shapes_frame",
                   preprocess=False)
        inputs = [image, prompt, seed, *settings]
        run.click(image_to_video, inputs, outputs, api_name="image_to_video", concurrency_id="models",
                  concurrency_limit=CONCURRENCY, preprocess=False)
        samples = i2v_samples() if runner.miniature else []
        if samples:
            rows = [[str(s.image), s.prompt, s.seed] for s in samples]
            examples = gr.Examples(rows, [image, prompt, seed], label="Examples (assets/samples)")
            examples.load_input_event.then(cached, inputs, outputs, api_visibility="undocumented",
                                           concurrency_id="models", concurrency_limit=CONCURRENCY, preprocess=False)


def _view(panel: TrajectoryPanel | None, key, frame):
    """The grid at one frame, and one key point of both sides, enlarged."""
    if panel is None:
        return None, None, None
    key = min(max(int(key), 0), panel.points - 1)
    frame = min(max(int(frame), 0), panel.teacher.shape[1] - 1)
    return (grid(panel, frame, VIEW_SCALE), upscale(panel.teacher[key, frame], VIEW_SCALE),
            upscale(panel.student[key, frame], VIEW_SCALE))


def _trajectory_tab(runner: StudioRunner, settings: list) -> None:
    with gr.Tab("Trajectory", id="trajectory"):
        gr.Markdown("The teacher's latents at the key timesteps (every n/m-th of its n steps) beside the student's "
                    "m steps, all decoded: where does each of the student's shortcuts land? Teacher steps must be at "
                    "least the student steps (Settings); where they are not a multiple of them, the key points are "
                    "rounded to the nearest teacher step.")
        with gr.Row():
            prompt = gr.Textbox(label="prompt", scale=4, elem_id="trajectory-prompt")
            seed = gr.Number(0, precision=0, label="seed", scale=1)
        run = gr.Button("Run both trajectories", variant="primary")
        panel = gr.State(None)
        with gr.Row():
            key = gr.Slider(0, 5, value=5, step=1, label="key point (0 = noise, m = clean clip)")
            frame = gr.Slider(0, 16, value=0, step=1, label="frame")
        strip = gr.Image(label="frame at every key point: teacher (top), student (bottom)", interactive=False,
                         format="png")
        with gr.Row():
            teacher = gr.Image(label="teacher at the key point", interactive=False, format="png")
            student = gr.Image(label="student at the key point", interactive=False, format="png")
        table = gr.Markdown("")

        def trajectory(prompt, seed, *rest, progress=gr.Progress(track_tqdm=True)):
            try:
                request = make_request(prompt, seed, *rest, caps=runner.caps)
                result = runner.trajectory(request, _progress(progress))
            except InvalidInput as err:
                raise gr.Error(str(err), print_exception=False) from err
            m, f = result.points - 1, result.teacher.shape[1] - 1
            return (result, *_view(result, m, 0), describe(result), gr.Slider(maximum=m, value=m),
                    gr.Slider(maximum=f, value=0))

        run.click(trajectory, [prompt, seed, *settings], [panel, strip, teacher, student, table, key, frame],
                  api_name="trajectory", concurrency_id="models", concurrency_limit=CONCURRENCY, preprocess=False)
        gr.on([key.release, frame.release], _view, [panel, key, frame], [strip, teacher, student],
              api_name="trajectory_view", queue=False, preprocess=False)


def _header(runner: StudioRunner) -> str:
    t, s = runner.teacher, runner.student
    student = (f"**no student shipped**: the right side is the teacher at {s.settings.steps} steps, labelled "
               "so, until the distillation stage ships `assets/student`" if s.fallback else f"student `{s.folder}`")
    more = [side for m, side in sorted(runner.students.items()) if side is not s]
    if more:
        student += "; for other step counts " + ", ".join(f"`{side.folder}` (m = {side.settings.steps})"
                                                          for side in more)
    tasks = " and ".join({"t2v": "text to video", "i2v": "image to video"}[task] for task in runner.tasks)
    return (f"# AccVideo studio\nThe {t.settings.steps}-step teacher and the {s.settings.steps}-step student on the "
            f"same prompt and seed ({tasks}). Teacher `{t.folder}` ({t.backbone}); {student}. Models load on the "
            f"first request (device `{runner.device}`).")


def build_demo(runner: StudioRunner) -> gr.Blocks:
    """The studio's gr.Blocks over a runner (nothing loads until the first request)."""
    with gr.Blocks(title="AccVideo studio", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(_header(runner))
        settings = _settings(runner)
        with gr.Tabs():
            if "t2v" in runner.tasks:
                _text_to_video_tab(runner, settings)
            if "i2v" in runner.tasks:
                _image_to_video_tab(runner, settings)
            if "t2v" in runner.tasks:  # the trajectory view runs from a prompt alone
                _trajectory_tab(runner, settings)
    return demo


def launch(demo: gr.Blocks, host: str = HOST, port: int | None = PORT, block: bool = True):
    """Serve the demo: queue with a concurrency limit, no share link, bound to host (127.0.0.1 by default)."""
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
                       inbrowser=False, show_error=False, max_file_size=MAX_UPLOAD, ssr_mode=False,
                       mcp_server=False, allowed_paths=[str(Path(SAMPLES))], footer_links=["api"], quiet=True)
