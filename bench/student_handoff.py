"""Where along its few steps a student loses the teacher's answer: hand it the teacher's own latent at a key sigma.

For T2V samples of a Shapes SynVid (`accvideo synvid generate --shapes N --keep all`), the judge reads the teacher's
recorded clip. Then the model under test starts from the teacher's recorded latent at each key sigma t'_k (k = m ..
1; at t'_m = 1 that is the noise itself) and finishes with its own steps. "kept" is how often it gets colour, shape
and motion right where the teacher did: it falls at the starts from which the model's remaining steps lose what
the teacher drew. Run the teacher with --guidance (its plain Euler steps on the same key sigmas) for the reference.

    python bench/student_handoff.py --synvid runs/synvid --model student --n 200
    python bench/student_handoff.py --synvid runs/synvid --model teacher --steps 5 --guidance 6.5 --n 200
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from accvideo.synvid.misdrawn import bar_misses, specs_of


def caption_subset(dataset, indices: list[int], captions: str) -> list[int]:
    """The samples of `indices` with the world's canonical caption ("canonical"), with any other ("long"), or all."""
    from accvideo.shapes.captions import canonical_caption

    if captions == "all":
        return indices
    canonical = [dataset.records[i]["prompt"] == canonical_caption(spec)
                 for i, spec in zip(indices, specs_of(dataset, indices))]
    return [i for i, c in zip(indices, canonical) if c == (captions == "canonical")]


def key_points(dataset, indices: list[int], m: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The m + 1 key sigmas t'_m .. t'_0 (float64), each sample's recorded latents at them (N, m + 1, C, f, h, w),
    read once, and the samples' prompts."""
    from accvideo.distill.data import dataset_key_indices

    keys = dataset_key_indices(dataset, m, "accvideo")  # positions of t'_m .. t'_0 in the stored trajectory
    latents = torch.stack([dataset.raw(i)["latents"][keys] for i in indices])
    return dataset.sigmas[keys].double(), latents, [dataset.records[i]["prompt"] for i in indices]


def finish_from(gen, start: torch.Tensor, prompts: list[str], sigmas: torch.Tensor, guidance: float) -> torch.Tensor:
    """The model's final latents from `start` (B, C, f, h, w) at sigmas[0], stepped over sigmas to 0."""
    text = gen.encode_text(prompts)
    uncond = gen.encode_text([""] * len(prompts)) if guidance != 1.0 else text
    return gen.denoise(start, text, uncond, sigmas, guidance).latent


def handoff(gen, dataset, indices: list[int], m: int, guidance: float, batch_size: int = 25) -> list[dict]:
    """Rows {start_sigma, right, kept, n_teacher_right}: the model from the teacher's latent at each of the m key
    sigmas but the last, on to 0 over the key sigmas after it."""
    def right(latents: torch.Tensor, specs) -> np.ndarray:
        return np.array([not missed for missed in bar_misses(gen, latents, specs)])

    sigmas, latents, prompts = key_points(dataset, indices, m)
    specs = specs_of(dataset, indices)
    chunks = [slice(a, a + batch_size) for a in range(0, len(indices), batch_size)]
    teacher = np.concatenate([right(latents[c, -1], specs[c]) for c in chunks])
    rows = []
    for j in range(m):
        got = np.concatenate([right(finish_from(gen, latents[c, j], prompts[c], sigmas[j:], guidance), specs[c])
                              for c in chunks])
        rows.append({"start_sigma": round(float(sigmas[j]), 4), "right": float(got.mean()),
                     "kept": float(got[teacher].mean()) if teacher.any() else float("nan"),
                     "n_teacher_right": int(teacher.sum())})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synvid", required=True, help="a --keep all SynVid drawn with --shapes")
    p.add_argument("--model", default="student")
    p.add_argument("--steps", type=int, help="m, the key intervals (default: the model's own steps)")
    p.add_argument("--guidance", type=float, default=1.0, help="CFG scale (1 for a student)")
    p.add_argument("--n", type=int, default=200, help="the first n T2V samples")
    p.add_argument("--captions", choices=("all", "canonical", "long"), default="all",
                   help="only the samples whose caption is the world's canonical one, or only the others")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.dataset import SynVidDataset

    torch.set_num_threads(args.threads)
    dataset = SynVidDataset(args.synvid, verify=False)
    indices = caption_subset(dataset, [i for i, r in enumerate(dataset.records) if r["task"] == "t2v"],
                             args.captions)[: args.n]
    gen = VideoGenerator.from_folder(args.model)
    m = args.steps or len(gen.settings.sigma_grid()) - 1
    rows = handoff(gen, dataset, indices, m, args.guidance)
    print(f"teacher right on {rows[0]['n_teacher_right']} of {len(indices)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"synvid": args.synvid, "model": args.model, "guidance": args.guidance,
                       "captions": args.captions, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
