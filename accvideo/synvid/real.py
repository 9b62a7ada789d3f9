"""Real clips for the adversarial loss: a folder of videos (or rendered Shapes-world clips) encoded once.

A set of real clips is stored like SynVid (accvideo.synvid.run: shards, manifest, checksums, resumable), with
keep "clean": each sample holds its clip's VAE latent at sigma 0, its caption's text states and, for a seeded
share of the samples, the I2V condition of its own first frame. The distillation reads it through
accvideo.distill.real.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from accvideo.synvid.sources import SampleRequest, noise_seed, shapes_requests

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif")  # what --real-videos reads
CAPTION_SUFFIX = ".txt"  # a video's caption: a text file of the same name beside it


def fit_clip(frames: np.ndarray, height: int, width: int, length: int) -> np.ndarray:
    """The first `length` frames of a uint8 video (T, H', W', 3), centre-cropped to the aspect of height x width
    and resized to it: (length, height, width, 3) uint8."""
    from PIL import Image

    h, w = frames.shape[1:3]
    scale = min(h / height, w / width)  # the largest crop of the wanted aspect
    ch, cw = int(round(height * scale)), int(round(width * scale))
    top, left = (h - ch) // 2, (w - cw) // 2
    out = [np.asarray(Image.fromarray(f[top : top + ch, left : left + cw]).resize((width, height), Image.BOX))
           for f in frames[:length]]
    return np.stack(out)


def read_video(path: Path, max_frames: int) -> np.ndarray:
    """Up to max_frames uint8 RGB frames (T, H, W, 3) of a video file; ValueError (one line) if unreadable."""
    import imageio.v2 as imageio

    try:
        with imageio.get_reader(str(path)) as reader:
            frames = []
            for frame in reader:
                frames.append(np.asarray(frame)[..., :3])
                if len(frames) == max_frames:
                    break
    except Exception as err:  # imageio raises many types for a file that is no video
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path}: not a readable video ({why})") from err
    if not frames or frames[0].ndim != 3:
        raise ValueError(f"{path}: no RGB frames")
    return np.stack(frames)


def captioned_videos(folder: str | Path) -> list[tuple[Path, str]]:
    """The videos of a folder (sorted by name) with their captions, read from NAME.txt beside each."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--real-videos {folder}: not a folder")
    videos = sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise ValueError(f"--real-videos {folder}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    uncaptioned = [p.name for p in videos if not p.with_suffix(CAPTION_SUFFIX).is_file()]
    if uncaptioned:
        raise ValueError(f"--real-videos {folder}: {len(uncaptioned)} video(s) have no caption file, e.g. "
                         f"{uncaptioned[0]} needs {Path(uncaptioned[0]).with_suffix(CAPTION_SUFFIX)}")
    out = []
    for path in videos:
        prompt = path.with_suffix(CAPTION_SUFFIX).read_text(encoding="utf-8").strip()
        if not prompt:
            raise ValueError(f"{path.with_suffix(CAPTION_SUFFIX)}: empty caption")
        out.append((path, prompt))
    return out


def video_requests(folder: str | Path, i2v_fraction: float, base_seed: int, height: int, width: int,
                   frames: int) -> list[SampleRequest]:
    """One request per captioned video of a folder, its clip fitted to the teacher's size; a seeded i2v_fraction
    of them also condition on their own first frame."""
    videos = captioned_videos(folder)
    pick = np.random.default_rng([base_seed, 2]).uniform(size=len(videos)) < i2v_fraction
    out = []
    for i, (path, prompt) in enumerate(videos):
        raw = read_video(path, frames)
        if len(raw) < frames:
            raise ValueError(f"{path}: {len(raw)} frames, the teacher's clips have {frames}")
        clip = fit_clip(raw, height, width, frames)
        out.append(SampleRequest(i, prompt, noise_seed(base_seed, i), clip[0] if pick[i] else None, clip))
    return out


def real_clip_source(videos: str | None, shapes: int, i2v_fraction: float) -> tuple[str, int]:
    """A set of real clips' source tag and size, without reading a clip: a folder of videos (its resolved path and
    captions), or `shapes` rendered Shapes-world clips."""
    if videos:
        captioned = captioned_videos(videos)
        names = ",".join(f"{i}:{prompt}" for i, (_, prompt) in enumerate(captioned))
        return f"videos:{Path(videos).resolve()}:{hashlib.sha256(names.encode()).hexdigest()[:16]}", len(captioned)
    return f"real-shapes:{shapes}:i2v={i2v_fraction}", shapes


def real_clip_requests(videos: str | None, shapes: int, i2v_fraction: float, seed: int, height: int, width: int,
                       frames: int) -> tuple[list[SampleRequest], str]:
    """The requests of a set of real clips and its source tag: a folder of videos, or `shapes` rendered
    Shapes-world clips (training seeds, the world's own captions)."""
    tag, _ = real_clip_source(videos, shapes, i2v_fraction)
    if videos:
        return video_requests(videos, i2v_fraction, seed, height, width, frames), tag
    return shapes_requests(shapes, seed, i2v_fraction, height, width, frames, with_clips=True), tag


def encode_real_clips(teacher, videos: str | None, shapes: int, i2v_fraction: float, out: str | Path, seed: int,
                      batch_size: int = 16, options=None) -> Path:
    """Encode a set of real clips (a folder of videos, or `shapes` rendered clips) with the teacher's VAE and text
    encoder into a resumable set at `out` (keep "clean"), at the teacher's clip size; an existing complete set
    of the same source is reused as it is, without reading a clip."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.run import SynVidSettings, generate_synvid
    from accvideo.synvid.store import SynVidStore

    height, width, frames = teacher.settings.clip_size(None, None, None)
    source, count = real_clip_source(videos, shapes, i2v_fraction)
    shard = batch_size * max(1, 256 // batch_size)
    settings = SynVidSettings.from_teacher(teacher, source, count, seed, student_steps=1, guidance=1.0,
                                           keep="clean", height=height, width=width, frames=frames,
                                           shard_size=shard, batch_size=batch_size)
    store = SynVidStore(out)
    if store.is_complete() and store.settings() == asdict(settings):  # encoded before: nothing to load or write
        return store.root
    requests, _ = real_clip_requests(videos, shapes, i2v_fraction, seed, height, width, frames)
    generator = VideoGenerator.from_folder(teacher, options=options)
    return generate_synvid(generator, requests, settings, out, resume=True)
