"""Other captions of every sample of a Shapes SynVid: a file for `accvideo distill --paraphrases`.

A SynVid pairs each teacher trajectory with one caption, so a student sees each scene described one way: 161
long captions in a 512-sample SynVid. The Shapes world knows the scene behind each caption, so it can describe
it again: the canonical caption and fresh fine-grained ones (other openings, synonyms, camera and lighting
remarks). Trained with them, the student learns that the words vary and the clip does not.

    python bench/synvid_paraphrases.py --synvid runs/synvid --out runs/synvid_paraphrases.jsonl
    accvideo distill --data runs/synvid --paraphrases runs/synvid_paraphrases.jsonl ...

Only for SynVids drawn with `--shapes` (their specs are known). For a real model's SynVid, write the same file
from any paraphraser (one line per sample: {"id": i, "prompts": [...]}).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from accvideo.synvid.misdrawn import specs_of


def paraphrases(spec, world_seed: int, own: str, n_fine: int) -> list[str]:
    """The canonical caption and n_fine fine-grained ones of one scene, none equal to its own caption."""
    from accvideo.shapes.captions import canonical_caption, fine_caption

    out = [canonical_caption(spec)]
    for j in range(4 * n_fine):  # a few draws repeat one another; stop at n_fine distinct
        if len(out) == n_fine + 1:
            break
        text = fine_caption(spec, np.random.default_rng([world_seed, 1000 + j]))
        if text not in out:
            out.append(text)
    return [t for t in out if t != own]


def paraphrase_lines(dataset, n_fine: int) -> list[str]:
    """One JSON line per sample; refuses a SynVid whose prompts are not its specs' captions."""
    from accvideo.shapes import caption, split_seeds

    ids = list(range(len(dataset)))
    seeds = split_seeds("train", len(dataset))
    lines = []
    for i, spec in zip(ids, specs_of(dataset, ids)):
        own = dataset.records[i]["prompt"]
        if caption(spec, seeds[i]) != own:
            raise ValueError(f"sample {i}'s prompt is not its Shapes spec's caption: {own[:60]!r}")
        lines.append(json.dumps({"id": i, "prompts": paraphrases(spec, seeds[i], own, n_fine)}))
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--synvid", required=True, help="a SynVid drawn with --shapes")
    p.add_argument("--out", required=True, help="the JSONL file to write (refused if it exists)")
    p.add_argument("--fine", type=int, default=5, help="fine-grained captions per sample (besides the canonical)")
    args = p.parse_args()
    from accvideo.synvid.dataset import SynVidDataset

    out = Path(args.out)
    if out.exists():
        p.error(f"{out} exists; choose another --out")
    if args.fine < 0:
        p.error("--fine must be >= 0")
    dataset = SynVidDataset(args.synvid, verify=False)
    lines = paraphrase_lines(dataset, args.fine)
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {sum(len(json.loads(x)['prompts']) for x in lines)} captions for {len(lines)} samples")


if __name__ == "__main__":
    main()
