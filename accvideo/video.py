"""Reading and writing clips and images: mp4 via imageio + libx264, PNG via Pillow, always atomically.

Clips are written enlarged, nearest-neighbour by a whole factor, so that their short side is at least
`MIN_SHORT_SIDE` pixels: H.264 stores colour at half resolution (4:2:0), which at 64 x 64 would blur a small
object's corners in the file itself, and a player would show a smear. Frames judged or measured are always
the model's own (the arrays), never a file read back.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from accvideo.shapes.spec import FPS

MIN_SHORT_SIDE = 256  # pixels: clips smaller than this are written enlarged by a whole factor


def replace_file(tmp: Path, path: Path) -> None:
    """Rename a finished temporary file to `path`, only over nothing or a regular file (never a device, FIFO,
    socket, folder or link that appeared there since the command checked it)."""
    from accvideo.validation import output_file

    try:
        output_file(path)
    except ValueError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


@contextmanager
def ctrl_c_kept():
    """A Ctrl-C while ffmpeg runs takes effect when it is done. imageio-ffmpeg forks ffmpeg with a preexec_fn,
    and Python drops a KeyboardInterrupt raised in its after-fork hooks (it prints a traceback and goes on), so a
    Ctrl-C at that moment was lost and the command ran to its end. Here a Ctrl-C is only noted, and raised as
    KeyboardInterrupt when the block ends (the clip in progress is then not kept). Only in the main thread and over
    Python's own handler (the studio has its own)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    seen = []
    signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if seen:
        raise KeyboardInterrupt


def display_factor(height: int, width: int, min_side: int = MIN_SHORT_SIDE) -> int:
    """The smallest whole factor that brings the short side of a (height, width) frame to at least `min_side`."""
    return max(1, -(-min_side // min(height, width)))


def enlarge(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of frames (F, H, W, 3) -> (F, H * factor, W * factor, 3)."""
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = FPS, raw: bool = False) -> Path:
    """Write uint8 frames (F, H, W, 3) as H.264 mp4, enlarged by display_factor unless `raw` (clips whose short
    side is already MIN_SHORT_SIDE are written as they are); a temporary name then rename, so no partial file
    remains."""
    import imageio.v2 as imageio

    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (F, H, W, 3), got {frames.dtype} {frames.shape}")
    if not raw:
        frames = enlarge(frames, display_factor(*frames.shape[1:3]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.mp4")
    try:
        with ctrl_c_kept(), imageio.get_writer(tmp, fps=fps, codec="libx264", quality=9, macro_block_size=16,
                                ffmpeg_params=["-pix_fmt", "yuv420p"], ffmpeg_log_level="error") as writer:
            for frame in frames:
                writer.append_data(frame)
        replace_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_mp4(path: str | Path) -> np.ndarray:
    """Read an mp4 into uint8 frames (F, H, W, 3)."""
    import imageio.v2 as imageio

    with ctrl_c_kept(), imageio.get_reader(path) as reader:
        return np.stack([np.asarray(f)[..., :3] for f in reader])


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3); ValueError with the reason when it is not one."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image not found: {path}")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"not a readable image: {path} ({err.__class__.__name__})") from err


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 (H, W, 3) image as PNG, atomically."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.png")
    Image.fromarray(image).save(tmp)
    replace_file(tmp, path)
    return path
