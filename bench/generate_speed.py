"""Seconds per clip of `generate`, split into text / denoise / decode, for models side by side in one run.

    python bench/generate_speed.py --models teacher@50,teacher@5 --clips 4 --json runs/generate_speed.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from accvideo.pipeline import VideoGenerator
from accvideo.quality import eval_prompts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="teacher@50,teacher@5", help="comma-separated NAME_OR_PATH@steps")
    p.add_argument("--clips", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    prompts = eval_prompts(args.clips)
    generators: dict[str, VideoGenerator] = {}
    results = {}
    for spec in args.models.split(","):
        name, steps = spec.rsplit("@", 1)
        if name not in generators:
            shared = next(iter(generators.values()), None)
            generators[name] = VideoGenerator.from_folder(name, text_encoder=shared and shared.text_encoder)
        gen = generators[name]
        gen([prompts[0].prompt], [0], steps=int(steps))  # warm-up
        gen.text_encoder._cache.clear()  # text encoding is timed cold, as a new prompt would be
        runs = [gen([p.prompt], [p.seed], steps=int(steps)) for p in prompts]
        results[spec] = {"nfe": runs[0].nfe,
                         **{f"seconds_{k}": float(np.mean([getattr(r.timings, k) for r in runs]))
                            for k in ("text", "denoise", "decode", "total")}}
        print(spec, json.dumps(results[spec]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, **results}, f, indent=2)


if __name__ == "__main__":
    main()
