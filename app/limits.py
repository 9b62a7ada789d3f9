"""What the studio accepts: caps on one request, and the checks that refuse anything else with a message.

The caps keep one request from holding the (shared, queued) models for minutes. Refusals are
`RequestError`s, whose text is written for the person at the page; the UI shows it, nothing crashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accvideo import validation
from accvideo.shapes.spec import check_geometry
from accvideo.validation import InvalidInput

MAX_SIDE = 256  # px, height and width, on the miniature (the Shapes world's own maximum)
MAX_FRAMES = 33  # frames per clip (1 + 4k), on the miniature
REAL_MAX_SIDE = 1280  # px on diffusers backbones (Wan2.1, HunyuanVideo): 720p
REAL_MAX_FRAMES = 129  # frames on diffusers backbones (HunyuanVideo's longest)
MAX_STEPS = 100  # Euler steps on either side
MAX_GUIDANCE = 20.0  # CFG scale of the teacher side
MAX_SEED = 2**31 - 1  # seeds are non-negative 31-bit integers
MAX_PROMPT_CHARS = 500  # longer prompts are refused (the text encoder truncates anyway)


class RequestError(InvalidInput):
    """A request the studio refuses; the message says why and what to do instead."""


NOT_UPLOADED = ("the first frame must be an image uploaded to the studio: upload a PNG (or JPEG, WebP) of the "
                "clip's size")


@dataclass(frozen=True)
class Caps:
    """The largest clip the studio makes, and the clip-size rule of the models it serves."""

    max_side: int = MAX_SIDE
    max_frames: int = MAX_FRAMES
    check_geometry: Callable[[int, int, int], None] = check_geometry  # ValueError for a size the models cannot take


MINIATURE_CAPS = Caps()  # the shipped miniature: the Shapes world's sizes


@dataclass(frozen=True)
class Request:
    """One side-by-side generation: the same prompt, seed and first frame drive both sides."""

    prompt: str
    seed: int
    teacher_steps: int
    student_steps: int
    guidance: float  # teacher side's CFG scale; the student uses its own settings' guidance
    height: int
    width: int
    frames: int
    image: np.ndarray | None = None  # uint8 (H, W, 3) first frame: image-to-video

    def key(self) -> tuple:
        """A hashable identity (the image by its bytes), for caching results."""
        image = None if self.image is None else (self.image.shape, self.image.tobytes())
        return (self.prompt, self.seed, self.teacher_steps, self.student_steps, self.guidance, self.height,
                self.width, self.frames, image)


def as_int(name: str, value) -> int:
    """A whole number from a UI field (floats like 5.0 and numeric strings allowed); RequestError otherwise."""
    try:
        return validation.loose_whole(name, value)
    except InvalidInput as err:
        raise RequestError(str(err)) from err


def as_number(name: str, value) -> float:
    """A number from a UI field (numeric strings allowed); its range is checked by the caller."""
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise RequestError(f"{name} must be a number, got {value!r}") from err


def check_steps(name: str, steps: int) -> None:
    """1 <= steps <= MAX_STEPS."""
    try:
        validation.steps(name, steps, MAX_STEPS)
    except InvalidInput as err:
        raise RequestError(str(err)) from err


def uploaded_file(payload, uploads: Path) -> Path:
    """The file an unprocessed gr.Image value names, only if it lies in Gradio's upload cache `uploads` (links
    resolved): a server path named in a raw API call is refused, with one message whether it exists or not."""
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(path, str) or not path:
        raise RequestError(NOT_UPLOADED)
    try:
        real, root = Path(path).resolve(strict=True), uploads.resolve()
    except (OSError, RuntimeError, ValueError) as err:  # missing, a link loop, a NUL byte
        raise RequestError(NOT_UPLOADED) from err
    if real == root or not real.is_relative_to(root) or not real.is_file():
        raise RequestError(NOT_UPLOADED)
    return real


def check_image_size(image_width: int, image_height: int, height: int, width: int) -> None:
    """A first frame is not resized: it must be exactly the clip's size."""
    if (image_height, image_width) != (height, width):
        raise RequestError(f"the first frame is {image_width} x {image_height} px but the clip is {width} x "
                           f"{height}: upload a {width} x {height} image, pick a Shapes world clip, or change the "
                           "clip size in Settings")


def check_geometry_caps(height: int, width: int, frames: int, caps: Caps = MINIATURE_CAPS) -> None:
    """The studio's caps (side and frame count) and the models' geometry rules."""
    if height > caps.max_side or width > caps.max_side:
        raise RequestError(f"the studio makes clips of at most {caps.max_side} x {caps.max_side} px, "
                           f"asked for {width} x {height}")
    if frames > caps.max_frames:
        raise RequestError(f"the studio makes clips of at most {caps.max_frames} frames, asked for {frames}")
    try:
        caps.check_geometry(height, width, frames)
    except ValueError as err:
        raise RequestError(str(err)) from err


def check_image(image: np.ndarray | None, height: int, width: int) -> None:
    """A first frame must be uint8 RGB of exactly the clip's size (it is not resized: the VAE sees it as is)."""
    if image is None:
        raise RequestError("image to video needs a first frame: upload one, or pick a Shapes world clip")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise RequestError(f"the first frame must be an RGB image, got an array {image.dtype} {image.shape}")
    check_image_size(image.shape[1], image.shape[0], height, width)


def make_request(prompt: str | None, seed, teacher_steps, student_steps, guidance, height, width, frames,
                 image: np.ndarray | None = None, image_to_video: bool = False,
                 caps: Caps = MINIATURE_CAPS) -> Request:
    """Validate raw UI values into a Request; RequestError with a message for the person otherwise."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise RequestError("the prompt is empty: describe a clip, e.g. 'a large red circle moving right on a "
                           "black background'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise RequestError(f"the prompt is {len(prompt)} characters; the studio takes at most {MAX_PROMPT_CHARS}")
    seed = as_int("seed", seed)
    teacher_steps, student_steps = as_int("teacher steps", teacher_steps), as_int("student steps", student_steps)
    try:
        validation.seed("seed", seed, MAX_SEED)
        check_steps("teacher steps", teacher_steps)
        check_steps("student steps", student_steps)
        guidance = validation.guidance("guidance", as_number("guidance", guidance), 1.0, MAX_GUIDANCE)
    except InvalidInput as err:
        raise RequestError(str(err)) from err
    height, width, frames = as_int("height", height), as_int("width", width), as_int("frames", frames)
    check_geometry_caps(height, width, frames, caps)
    if image_to_video:
        check_image(image, height, width)
    return Request(prompt, seed, teacher_steps, student_steps, guidance, height, width, frames,
                   image if image_to_video else None)
