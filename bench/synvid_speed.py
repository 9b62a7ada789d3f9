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

from accvideo.pipeline import SamplingSettings, VideoGenerator, resolve_model
from accvideo.synvid.cli import dataset_info
from accvideo.synvid.run import SynVidSettings, generate_synvid, weights_sha256
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
    folder = resolve_model(args.teacher)
    ms = SamplingSettings.load(folder)
    gen = VideoGenerator.from_folder(str(folder), device=args.device)
    out = Path(tempfile.mkdtemp(prefix="synvid-bench-"))
    try:
        reqs = shapes_requests(args.samples, 0, 0.5, 64, 64, 17)
        settings = SynVidSettings(teacher=str(folder), teacher_sha256=weights_sha256(folder), source="bench",
                                  samples=args.samples, base_seed=0, teacher_steps=50, student_steps=5,
                                  guidance=ms.guidance, shift=ms.shift, keep="key", height=64, width=64, frames=17,
                                  shard_size=args.batch_size * 4, batch_size=args.batch_size)
        t0 = time.perf_counter()
        generate_synvid(gen, reqs, settings, out / "data")
        seconds = time.perf_counter() - t0
        info = dataset_info(out / "data")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    figures = {"samples": args.samples, "seconds": seconds, "samples_per_second": args.samples / seconds,
               "bytes_per_sample": info["bytes_per_sample"], "threads": args.threads, "device": args.device,
               "teacher_nfe_per_sample": 100}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
