"""SynVid generation speed and size: samples per second and bytes per sample on this machine.

    python bench/synvid_speed.py --teacher teacher --samples 64 --json runs/synvid_speed.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch

from accvideo.backbones.registry import ModelFolder
from accvideo.pipeline import VideoGenerator
from accvideo.synvid.dataset import dataset_info
from accvideo.synvid.run import SynVidSettings, generate_synvid
from accvideo.synvid.sources import shapes_requests


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", default="teacher")
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    teacher = ModelFolder.open(args.teacher)
    gen = VideoGenerator.from_folder(teacher, device=args.device)
    out = Path(tempfile.mkdtemp(prefix="synvid-bench-"))
    try:
        st = teacher.settings
        reqs = shapes_requests(args.samples, 0, 0.5, st.height, st.width, st.frames)
        settings = SynVidSettings.from_teacher(teacher, "bench", args.samples, shard_size=args.batch_size * 4,
                                               batch_size=args.batch_size)
        t0 = time.perf_counter()
        generate_synvid(gen, reqs, settings, out / "data")
        seconds = time.perf_counter() - t0
        info = dataset_info(out / "data")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    figures = {"samples": args.samples, "seconds": seconds, "samples_per_second": args.samples / seconds,
               "bytes_per_sample": info["bytes_per_sample"], "threads": args.threads, "device": args.device,
               "teacher_nfe_per_sample": settings.teacher_steps * (2 if settings.guidance != 1.0 else 1)}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
