"""The teacher's training set, prepared once: encoded clips, first-frame latents, two captions per clip.

Each training-seed clip is rendered and encoded with the VAE once. It gets two captions: the short
canonical one and the one the Shapes world draws for it (canonical 30 % of the time, else a long
fine-grained description), both embedded with MiniLM once. Stored as one safetensors file (tensors) whose
metadata holds the prompts as JSON: nothing is unpickled when training reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from accvideo.latents import encode_clips
from accvideo.shapes import caption, random_spec, render, split_seeds
from accvideo.shapes.captions import canonical_caption

DATA_FORMAT = "accvideo-teacher-data-1"


def _embed(text_encoder, prompts: list[str], batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """MiniLM states (N, L, D) in fp16 and masks (N, L) as uint8, embedded in chunks."""
    states, masks = [], []
    for i in tqdm(range(0, len(prompts), batch_size), desc="embed captions", leave=False):
        emb = text_encoder(prompts[i : i + batch_size])
        states.append(emb.states.half())
        masks.append(emb.mask.to(torch.uint8))
        text_encoder.clear_cache()
    return torch.cat(states), torch.cat(masks)


def prepare_teacher_data(vae_path: str, out: str, n_clips: int, text_encoder=None, batch_size: int = 32) -> Path:
    """Render n_clips training-seed clips and encode them once: latents, first-frame latents, two captions each."""
    from safetensors.torch import save_file

    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.models.text import MiniLMTextEncoder

    vae = ShapesAutoencoder.from_pretrained(vae_path).eval()
    text_encoder = text_encoder or MiniLMTextEncoder()
    seeds = split_seeds("train", n_clips)
    latents, firsts, world, canonical = [], [], [], []
    for i in tqdm(range(0, n_clips, batch_size), desc="encode clips"):
        chunk = seeds[i : i + batch_size]
        specs = [random_spec(s) for s in chunk]
        clips = np.stack([render(sp) for sp in specs])  # (b, F, H, W, 3)
        latents.append(encode_clips(vae, clips).half())  # (b, C, f, h, w)
        firsts.append(encode_clips(vae, clips[:, :1]).half())  # (b, C, 1, h, w)
        world += [caption(sp, s) for sp, s in zip(specs, chunk)]
        canonical += [canonical_caption(sp) for sp in specs]
    world_states, world_mask = _embed(text_encoder, world)
    canon_states, canon_mask = _embed(text_encoder, canonical)
    empty_states, empty_mask = _embed(text_encoder, [""])
    tensors = {"latents": torch.cat(latents), "first_latents": torch.cat(firsts),
               "world_states": world_states, "world_mask": world_mask,
               "canonical_states": canon_states, "canonical_mask": canon_mask,
               "empty_states": empty_states[0], "empty_mask": empty_mask[0],
               "seeds": torch.tensor(seeds, dtype=torch.int64)}
    meta = {"format": DATA_FORMAT, "vae": str(vae_path), "prompts": json.dumps(world),
            "canonical_prompts": json.dumps(canonical)}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def load_teacher_data(path: str | Path) -> dict:
    """Read a file written by prepare_teacher_data; ValueError (one line) for anything else.

    Keys: latents (N, C, f, h, w), first_latents (N, C, 1, h, w), world_/canonical_ states (N, L, D) and
    masks (N, L), empty_states (L, D) / empty_mask (L,), seeds, prompts (the world's captions),
    canonical_prompts, vae; `text_states` is an alias of world_states.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"teacher data not found: {path}")
    if path.suffix == ".pt":
        raise ValueError(f"{path} is teacher data of an older version (a pickle, which is never loaded: it could run "
                         "code); prepare it again (train-teacher --data NEW.safetensors prepares a missing file)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != DATA_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {DATA_FORMAT!r}")
            data = {key: f.get_tensor(key) for key in f.keys()}
        data["prompts"] = json.loads(meta["prompts"])
        data["canonical_prompts"] = json.loads(meta["canonical_prompts"])
    except Exception as err:
        raise ValueError(f"{path}: not a teacher data file ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from err
    data["vae"] = meta["vae"]
    data["seeds"] = data["seeds"].tolist()
    data["text_states"] = data["world_states"]
    return data
