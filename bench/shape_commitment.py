"""Where along the trajectory a teacher decides an object's shape, and whether the caption or the noise decides it.

Rendered eval clips (canonical single-object captions) are encoded, noised to a start sigma s
(x_s = (1 - s) x_0 + s eps), and sampled from s to 0 on the teacher's grid with CFG. The judge then reads the
shape back. With the true caption, "kept" is how often the clip's own shape survives: 1.0 from low s means the
teacher can carry a shape it is shown. With the shape word swapped, "asked" is how often the clip takes the
caption's shape instead of the one the noisy latent still carries: a teacher that draws shape from its prompt
scores high here from the s at which shapes are decided.

    python bench/shape_commitment.py --model runs/teacher_kf/checkpoint-teacher --n 24 --starts 0.95,0.85,0.7,0.5
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import torch

OTHER_SHAPE = {"circle": "square", "square": "triangle", "triangle": "circle"}  # the swap: every shape changes


def commitment(gen, specs, starts: list[float], steps: int, guidance: float, seed: int = 1) -> list[dict]:
    """Rows {start, caption, kept, asked} for the true and the swapped caption at each start sigma."""
    from accvideo.shapes.captions import canonical_caption
    from accvideo.shapes.judge import attribute_report, judge_clip
    from accvideo.shapes.render import render

    x0 = gen.backbone.encode_video(np.stack([render(s) for s in specs]))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    grid = gen.settings.sigma_grid(steps)
    uncond = gen.encode_text([""] * len(specs))
    rows = []
    for caption in ("true", "swapped"):
        asked_specs = [replace(s, objects=(replace(s.objects[0], shape=OTHER_SHAPE[s.objects[0].shape]),))
                       if caption == "swapped" else s for s in specs]
        text = gen.encode_text([canonical_caption(s) for s in asked_specs])
        for start in starts:
            sigmas = torch.cat([torch.tensor([start], dtype=torch.float64), grid[grid < start]])
            clips = gen.decode(gen.denoise((1 - start) * x0 + start * eps, text, uncond, sigmas, guidance).latent)
            judged = [judge_clip(c) for c in clips]
            kept = np.mean([attribute_report(j, s)["shape"] for j, s in zip(judged, specs)])
            asked = np.mean([attribute_report(j, s)["shape"] for j, s in zip(judged, asked_specs)])
            rows.append({"start": start, "caption": caption, "kept": float(kept), "asked": float(asked)})
    return rows


def main() -> None:
    from accvideo.pipeline import VideoGenerator
    from accvideo.quality import eval_prompts

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="teacher")
    p.add_argument("--n", type=int, default=24, help="single-object eval clips")
    p.add_argument("--starts", default="0.95,0.85,0.7,0.5,0.3", help="comma-separated start sigmas")
    p.add_argument("--steps", type=int, default=25, help="the grid the sampling follows below the start")
    p.add_argument("--guidance", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    gen = VideoGenerator.from_folder(args.model)
    specs = [e.spec for e in eval_prompts(args.n, style="canonical")]
    rows = commitment(gen, specs, [float(s) for s in args.starts.split(",")], args.steps, args.guidance)
    print("| start sigma | caption | own shape kept | caption's shape drawn |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['start']} | {r['caption']} | {r['kept']:.0%} | {r['asked']:.0%} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
