"""`accvideo train-teacher`: flow-matching training (Eq. 3) of the miniature WanTransformer3DModel.

Data preparation is a separate stage (`prepare_teacher_data`): clips are rendered and encoded into
latents once, captions embedded once; training only reads that file.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from accvideo.latents import encode_clips
from accvideo.models.teacher import build_transformer, i2v_condition, velocity
from accvideo.schedules import forward_diffuse, train_timesteps
from accvideo.shapes import caption, random_spec, render, split_seeds
from accvideo.training.state import LossLog, cosine_lr, open_run, write_run_checkpoint


@dataclass
class TeacherTrainConfig:
    """Settings of one teacher training run."""

    data: str = "runs/teacher_data.pt"  # file written by prepare_teacher_data
    out: str = "runs/teacher"  # run folder: checkpoint.pt, loss.csv, final/
    vae: str = "assets/vae"  # the VAE the latents came from (recorded in accvideo.json)
    preset: str = "shapes-xs"  # size preset of WanTransformer3DModel (accvideo.models.teacher.PRESETS)
    steps: int = 4000  # optimiser steps
    batch_size: int = 16  # latents per step
    lr: float = 5e-4  # peak AdamW learning rate
    warmup: int = 200  # linear warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    ema: float = 0.999  # EMA decay of the shipped weights
    text_dropout: float = 0.1  # probability of the empty prompt, for classifier-free guidance
    i2v_fraction: float = 0.5  # probability that a sample gets its first frame as condition
    train_shift: float = 3.0  # shift of the training sigma distribution
    checkpoint_every: int = 100  # steps between checkpoints
    seed: int = 0  # seeds init, batch order, noise
    threads: int = 2  # torch CPU threads
    init: str | None = None  # start from these transformer weights instead of random
    stop_at: int | None = None  # end this invocation after this step, without exporting (continue with resume)


def prepare_teacher_data(vae_path: str, out: str, n_clips: int, text_encoder=None, batch_size: int = 32) -> Path:
    """Render n_clips training-seed clips, encode them once: latents, first-frame latents, caption states."""
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.models.text import MiniLMTextEncoder

    vae = ShapesAutoencoder.from_pretrained(vae_path).eval()
    text_encoder = text_encoder or MiniLMTextEncoder()
    seeds = split_seeds("train", n_clips)
    latents, firsts, prompts = [], [], []
    for i in tqdm(range(0, n_clips, batch_size), desc="encode clips"):
        chunk = seeds[i : i + batch_size]
        specs = [random_spec(s) for s in chunk]
        clips = np.stack([render(sp) for sp in specs])  # (b, F, H, W, 3)
        latents.append(encode_clips(vae, clips).half())  # (b, C, f, h, w)
        firsts.append(encode_clips(vae, clips[:, :1]).half())  # (b, C, 1, h, w)
        prompts += [caption(sp, s) for sp, s in zip(specs, chunk)]
    emb = text_encoder(prompts)
    empty = text_encoder([""])
    data = {"latents": torch.cat(latents), "first_latents": torch.cat(firsts), "text_states": emb.states.half(),
            "empty_states": empty.states[0].half(), "prompts": prompts, "seeds": seeds, "vae": str(vae_path)}
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path.with_name(path.name + ".tmp"))
    path.with_name(path.name + ".tmp").replace(path)
    return path


def flow_matching_loss(v_pred: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 3: || v_theta(x_t, t) - (x_1 - x_0) ||^2, unreduced (B, C, F, h, w)."""
    return (v_pred.float() - (noise - x0).float()).square()


def _batch(data: dict, idx: torch.Tensor, cfg: TeacherTrainConfig, gen: torch.Generator):
    x0 = data["latents"][idx].float()  # (B, C, f, h, w)
    b = len(idx)
    text = data["text_states"][idx].float()  # (B, L, D)
    drop = torch.rand(b, generator=gen) < cfg.text_dropout
    text[drop] = data["empty_states"].float()
    present = torch.rand(b, generator=gen) < cfg.i2v_fraction
    condition = i2v_condition(data["first_latents"][idx].float(), tuple(x0.shape), present=present)
    noise = torch.randn(x0.shape, generator=gen)
    sigma = train_timesteps(b, gen, cfg.train_shift)
    return x0, text, condition, noise, sigma


def train_teacher(cfg: TeacherTrainConfig, resume: bool = False) -> Path | None:
    """Flow-matching training with text and first-frame dropout; returns the exported folder (None at stop_at)."""
    from diffusers import WanTransformer3DModel

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    data = torch.load(cfg.data, map_location="cpu", weights_only=False)
    torch.manual_seed(cfg.seed)
    model = (WanTransformer3DModel.from_pretrained(cfg.init) if cfg.init else build_transformer(cfg.preset)).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    objects = {"model": model, "ema": ema, "optimizer": opt}
    start, elapsed = open_run(out, asdict(cfg), resume, objects)
    log = LossLog(out / "loss.csv", ["loss", "lr"], resume_step=start if resume else None)
    n = len(data["latents"])
    end = min(cfg.steps, cfg.stop_at or cfg.steps)
    bar = tqdm(range(start, end), initial=start, total=cfg.steps, desc="train-teacher")
    t0 = time.perf_counter()
    for step in bar:
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)  # the batch depends only on (seed, step)
        idx = torch.randperm(n, generator=gen)[: cfg.batch_size]
        x0, text, condition, noise, sigma = _batch(data, idx, cfg, gen)
        lr = cosine_lr(step, cfg.lr, cfg.warmup, cfg.steps)
        for group in opt.param_groups:
            group["lr"] = lr
        v = velocity(model, forward_diffuse(x0, noise, sigma), sigma, text, condition)
        loss = flow_matching_loss(v, x0, noise).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}; the last good checkpoint is {out / 'checkpoint.pt'}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - cfg.ema)
        log.append(step + 1, loss=loss.item(), lr=lr)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == end:
            now = time.perf_counter()
            elapsed, t0 = elapsed + now - t0, now
            write_run_checkpoint(out, objects, step + 1, elapsed)
    if end < cfg.steps:
        return None
    return export_teacher(ema, out / "final", cfg, elapsed)


def export_teacher(transformer, folder: Path, cfg: TeacherTrainConfig, seconds: float) -> Path:
    """Save the (EMA) transformer in diffusers format with its sampling settings."""
    from accvideo.pipeline import SamplingSettings, relative_vae

    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(folder)
    SamplingSettings(kind="teacher", vae=relative_vae(folder, Path(cfg.vae))).save(folder)
    (folder / "training.json").write_text(json.dumps({"train_seconds": seconds, "config": asdict(cfg)}, indent=2))
    return folder
