"""The samples of a Shapes SynVid whose recorded clip the judge reads wrong: a file for `accvideo distill --exclude`.

A teacher at its quality bar still misdraws about one prompt in ten (mostly circles drawn square-ish), and its
SynVid keeps those trajectories: the student is taught them with the rest. This decodes every sample's final
latent (the teacher's clip), judges it against the spec behind its prompt, and writes the ids of the samples
with colour, shape or motion wrong, one per line with the reason as a comment.

    python bench/synvid_misdrawn.py --synvid runs/synvid --out runs/synvid_misdrawn.txt
    accvideo distill --data runs/synvid --exclude runs/synvid_misdrawn.txt ...

Only for SynVids drawn with `--shapes` (their specs are known); for a real model's SynVid there is no judge.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch
from student_handoff import bar_misses, specs_of  # bench/student_handoff.py, beside this
from tqdm import tqdm


def misdrawn(gen, dataset, batch_size: int = 25) -> dict[int, str]:
    """Sample id -> the attributes the judge reads wrong (e.g. "shape"), for every sample with one wrong."""
    ids = list(range(len(dataset)))
    specs = specs_of(dataset, ids)
    wrong = {}
    for start in tqdm(range(0, len(ids), batch_size), desc="judge", unit="batch"):
        chunk = ids[start : start + batch_size]
        latents = torch.stack([dataset.raw(i)["latents"][-1] for i in chunk])  # the teacher's final latents
        for i, missed in zip(chunk, bar_misses(gen, latents, specs[start : start + batch_size])):
            if missed:
                wrong[i] = ", ".join(missed)
    return wrong


def ids_file(wrong: dict[int, str], dataset, name: str) -> list[str]:
    """The lines of the ids file: a count per task, then one id per line with its task and what was wrong."""
    tasks = Counter(dataset.records[i]["task"] for i in wrong)
    lines = [f"# {len(wrong)} of {len(dataset)} samples of {name} judged wrong ({json.dumps(dict(tasks))})"]
    return lines + [f"{i}  # {dataset.records[i]['task']}: {why}" for i, why in sorted(wrong.items())]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synvid", required=True, help="a SynVid drawn with --shapes")
    p.add_argument("--out", required=True, help="the ids file to write (refused if it exists)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.dataset import SynVidDataset

    out = Path(args.out)
    if out.exists():
        p.error(f"{out} exists; choose another --out")
    torch.set_num_threads(args.threads)
    dataset = SynVidDataset(args.synvid, verify=False)
    gen = VideoGenerator.from_folder(dataset.settings["teacher"])
    lines = ids_file(misdrawn(gen, dataset), dataset, args.synvid)
    out.write_text("\n".join(lines) + "\n")
    print(lines[0])


if __name__ == "__main__":
    main()
