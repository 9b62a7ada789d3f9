"""The README's gallery: frame strips of teacher@50, teacher@5 and student@5 from the same noise.

Two T2V prompts (assets/samples/prompts.txt) and two I2V inputs (assets/samples/i2v.jsonl); for each, one PNG
with a row per run (labelled) and a column per 4th frame, nearest-neighbour enlarged, plus gallery.md with
the prompts. Every row of a PNG starts from the same seed's noise.

    python bench/gallery.py --teacher teacher --student student --out docs/gallery
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
LABEL_WIDTH = 120  # pixels of the label column


def labelled_strip(rows: list[tuple[str, np.ndarray]], every: int, scale: int) -> np.ndarray:
    """[(label, clip (F, H, W, 3))] -> one image: a label column, then every `every`-th frame of each clip."""
    from PIL import Image, ImageDraw

    from accvideo.analysis import GAP, frame_grid, upscale

    grid = upscale(frame_grid(np.stack([clip for _, clip in rows]), every=every), scale)
    row_height = rows[0][1].shape[1] * scale
    canvas = Image.new("RGB", (LABEL_WIDTH + grid.shape[1], grid.shape[0]), "white")
    canvas.paste(Image.fromarray(grid), (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(canvas)
    for i, (label, _) in enumerate(rows):
        draw.text((6, i * (row_height + GAP * scale) + row_height // 2 - 6), label, fill="black")
    return np.asarray(canvas)


def save_small_png(path: Path, image: np.ndarray) -> None:
    """A committed picture: 128-colour palette PNG (a quarter of the RGB file's size; Shapes colours are few)."""
    from PIL import Image

    Image.fromarray(image).quantize(colors=128).save(path, optimize=True)


def jobs(n_t2v: int, n_i2v: int) -> list[dict]:
    """The gallery's inputs: prompt, seed, task and first frame (I2V)."""
    from accvideo.video import read_image

    out = [{"task": "t2v", "prompt": p, "seed": i}
           for i, p in enumerate((SAMPLES / "prompts.txt").read_text().splitlines()[:n_t2v])]
    for line in (SAMPLES / "i2v.jsonl").read_text().splitlines()[:n_i2v]:
        rec = json.loads(line)
        out.append({"task": "i2v", "prompt": rec["prompt"], "seed": rec["seed"],
                    "image": read_image(SAMPLES / rec["image"]), "image_file": rec["image"]})
    return out


def main() -> None:
    from accvideo.pipeline import VideoGenerator

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", default="teacher")
    p.add_argument("--student", default="student")
    p.add_argument("--out", default="docs/gallery", help="folder for the PNGs and gallery.md")
    p.add_argument("--t2v", type=int, default=2, help="T2V prompts")
    p.add_argument("--i2v", type=int, default=2, help="I2V inputs")
    p.add_argument("--every", type=int, default=4, help="show every n-th frame")
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour enlargement")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    teacher = VideoGenerator.from_folder(args.teacher)
    student = VideoGenerator.from_folder(args.student, text_encoder=teacher.text_encoder, vae=teacher.vae)
    m = student.settings.steps
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Gallery", "", f"`python bench/gallery.py --teacher {args.teacher} --student {args.student}`: "
             f"each row starts from the same noise; every {args.every}th frame.", ""]
    for i, job in enumerate(jobs(args.t2v, args.i2v)):
        images = job["image"][None] if job["task"] == "i2v" else None
        runs = [(f"teacher@{teacher.settings.steps}", teacher, teacher.settings.steps),
                (f"teacher@{m}", teacher, m), (f"student@{m}", student, m)]
        rows = [(label, gen([job["prompt"]], [job["seed"]], steps=steps, images=images).frames[0])
                for label, gen, steps in runs]
        if images is not None:  # the conditioning image in the first column, white beside it
            given = np.full_like(rows[0][1], 255)
            given[0] = images[0]
            rows.insert(0, ("given image", given))
        name = f"{job['task']}_{i}.png"
        save_small_png(out / name, labelled_strip(rows, args.every, args.scale))
        lines += [f"**{job['task'].upper()}**: {job['prompt']} (seed {job['seed']})", "", f"![{name}]({name})", ""]
        print(out / name, flush=True)
    (out / "gallery.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
