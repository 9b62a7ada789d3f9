"""Reading and writing clips and images: mp4 via imageio + libx264, PNG via Pillow, always atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from accvideo.shapes.spec import FPS


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


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = FPS) -> Path:
    """Write uint8 frames (F, H, W, 3) as H.264 mp4; a temporary name then rename, so no partial file remains."""
    import imageio.v2 as imageio

    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 frames (F, H, W, 3), got {frames.dtype} {frames.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.mp4")
    try:
        with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=9, macro_block_size=16,
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

    with imageio.get_reader(path) as reader:
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
