"""The samples of a Shapes SynVid whose recorded clip the judge reads wrong: a file for `accvideo distill --exclude`.

A teacher at its quality bar still misdraws about one prompt in ten (mostly circles drawn square-ish), and its
SynVid keeps those trajectories: the student is taught them with the rest. `misdrawn` decodes every sample's final
latent (the teacher's clip), judges it against the spec behind its prompt, and `ids_file` lists the ids of the
samples with colour, shape or motion wrong, one per line with the reason as a comment.

    accvideo synvid misdrawn --synvid runs/synvid --out runs/synvid_misdrawn.txt
    accvideo distill --data runs/synvid --exclude runs/synvid_misdrawn.txt ...

Only for SynVids drawn with `--shapes` (their specs are known); for a real model's SynVid there is no judge.
"""

from __future__ import annotations

import json
from collections import Counter

import torch
from tqdm import tqdm


def specs_of(dataset, indices: list[int]) -> list:
    """The Shapes specs behind SynVid samples drawn with --shapes (training seeds in order, as shapes_requests)."""
    from accvideo.shapes import random_spec, split_seeds

    s = dataset.settings
    if not s.source.startswith("shapes:"):
        raise ValueError(f"{dataset.root} was not drawn from the Shapes world (source {s.source!r})")
    seeds = split_seeds("train", len(dataset))
    return [random_spec(seeds[i], s.height, s.width, s.frames) for i in indices]


def bar_misses(gen, latents: torch.Tensor, specs) -> list[list[str]]:
    """Per latent (B, C, f, h, w): the bar's attributes (colour, shape, motion) the judge reads otherwise than its
    spec says, from the decoded clip; an empty list when all three are right."""
    from accvideo.shapes.judge import BAR_ATTRIBUTES, attribute_report, judge_clip

    reports = [attribute_report(judge_clip(c), s) for c, s in zip(gen.decode(latents), specs)]
    return [[a for a in BAR_ATTRIBUTES if not r[a]] for r in reports]


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
