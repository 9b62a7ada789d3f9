"""VAE quality bar: reconstruction PSNR on eval-seed clips, and how often the clip judge reads the
reconstruction the same as the original (bar: >= 98 %; goal: mean PSNR >= 30 dB on 200 clips). Also the
boundary jump: on clips with motion, the frame-to-frame change at latent-group boundaries over the change
inside groups (accvideo.evaluation.metrics.group_boundary_ratio), beside the source clips' own ratio.

    python bench/vae_quality.py --vae assets/vae --clips 200 --json runs/vae_quality.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from accvideo.evaluation.metrics import group_boundary_ratio
from accvideo.latents import decode_latents, encode_clips
from accvideo.models.autoencoder import ShapesAutoencoder
from accvideo.shapes import random_spec, render, split_seeds
from accvideo.shapes.judge import judge_clip, psnr, same_reading


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--vae", default="assets/vae")
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    vae = ShapesAutoencoder.from_pretrained(args.vae).eval()
    seeds = split_seeds("eval", args.clips)
    psnrs, same, seconds, ratios, source_ratios = [], [], 0.0, [], []
    for i in tqdm(range(0, len(seeds), args.batch_size), desc="vae eval"):
        clips = np.stack([render(random_spec(s)) for s in seeds[i : i + args.batch_size]])
        t0 = time.perf_counter()
        recon = decode_latents(vae, encode_clips(vae, clips))
        seconds += time.perf_counter() - t0
        for a, b in zip(clips, recon):
            psnrs.append(psnr(a, b))
            same.append(same_reading(judge_clip(a), judge_clip(b)))
            if np.abs(np.diff(a.astype(np.int16), axis=0)).sum() > 0:  # moving objects only
                ratios.append(group_boundary_ratio(b))
                source_ratios.append(group_boundary_ratio(a))
    figures = {"clips": len(seeds), "psnr_mean_db": float(np.mean(psnrs)), "psnr_min_db": float(np.min(psnrs)),
               "judge_same_reading": float(np.mean(same)), "seconds_per_clip_roundtrip": seconds / len(seeds),
               "parameters": sum(p.numel() for p in vae.parameters()),
               "boundary_jump_ratio": float(np.nanmean(ratios)), "source_boundary_jump_ratio": float(np.nanmean(source_ratios)),
               "moving_clips": len(ratios)}
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
