"""`accvideo train-teacher`: flow-matching training (Eq. 3) of the miniature transformer (either architecture).

Data preparation is a separate stage (accvideo.training.teacher_data): clips are rendered and encoded into
latents once, captions embedded once; training only reads that file. With `eval_every` the run judges its
EMA weights on the proxy (accvideo.training.proxy) into proxy.csv, against wall and CPU minutes.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from accvideo.backbones.registry import from_parts
from accvideo.models.teacher import build_transformer, preset_names
from accvideo.resumable.loop import TrainLoop, ema_update, set_lr, step_generator
from accvideo.resumable.state import (CHECKPOINT, LossLog, check_config, cosine_lr, file_digest, load_checkpoint,
                                      open_run, write_run_checkpoint, wsd_lr)
from accvideo.schedules import flow_matching_loss, forward_diffuse, train_timesteps
from accvideo.training.proxy import ProxySettings, proxy_eval
from accvideo.training.teacher_data import load_teacher_data, prepare_teacher_data  # noqa: F401 (re-exported)


@dataclass
class TeacherTrainConfig:
    """Settings of one teacher training run."""

    data: str = "runs/teacher_data.safetensors"  # file written by prepare_teacher_data
    out: str = "runs/teacher"  # run folder: checkpoint.json + .safetensors, loss.csv, proxy.csv, final/
    vae: str = "assets/vae"  # the VAE the latents came from (recorded in accvideo.json)
    preset: str = "shapes-hy"  # size preset (accvideo.models.teacher: PRESETS, HUNYUAN_PRESETS)
    steps: int = 4000  # optimiser steps
    batch_size: int = 32  # latents per step
    lr: float = 1e-3  # peak AdamW learning rate
    warmup: int = 200  # linear warm-up steps
    decay_steps: int | None = None  # constant lr, then cosine decay over the last decay_steps (None: cosine over all)
    weight_decay: float = 0.01  # AdamW weight decay
    ema: float = 0.998  # EMA decay of the shipped weights
    text_dropout: float = 0.1  # probability of the empty prompt, for classifier-free guidance
    i2v_fraction: float = 0.5  # probability that a sample gets its first frame as condition
    canonical_until: int = 0  # steps that see canonical captions only (captions the model can parse early)
    canonical_fraction: float = 0.3  # after that, the probability of the canonical caption over the world's own
    train_shift: float = 3.0  # shift of the training sigma distribution
    foreground_weight: float = 1.0  # loss weight of latent cells on and around objects (background cells weigh 1)
    checkpoint_every: int = 100  # steps between checkpoints
    eval_every: int = 0  # steps between proxy evaluations of the EMA weights into proxy.csv (0: none)
    eval_prompts: int = 48  # canonical eval prompts of the proxy
    seed: int = 0  # seeds init, batch order, noise
    threads: int = 2  # torch CPU threads
    init: str | None = None  # start from these transformer weights instead of random
    stop_at: int | None = None  # end this invocation after this step, without exporting (continue with resume)
    max_minutes: float | None = None  # end this invocation once the run has trained this many wall minutes

    def __post_init__(self):
        check_config(self, ("steps", "batch_size", "checkpoint_every", "eval_prompts", "threads", "decay_steps",
                            "stop_at"), ("lr", "max_minutes", "foreground_weight"), ("ema", "text_dropout", "i2v_fraction",
                                                                 "canonical_fraction"))
        if not self.init and self.preset not in preset_names():
            raise ValueError(f"unknown preset {self.preset!r}; choose from {preset_names()}")


def latent_foreground(x0: torch.Tensor, threshold: float = 1.0) -> torch.Tensor:
    """(B, 1, f, h, w) mask of latent cells that differ from the clip's background: objects and their edges.

    The background is the per-clip, per-channel median latent (objects cover a few percent of a Shapes clip);
    a cell is foreground when any normalised channel is more than `threshold` from it. The words a teacher
    learns last (shape, motion) change only these cells, so their share of the loss is small.
    """
    background = x0.flatten(2).median(dim=2).values[..., None, None, None]  # (B, C, 1, 1, 1)
    return ((x0 - background).abs().amax(dim=1, keepdim=True) > threshold).float()  # (B, 1, f, h, w)


def canonical_probability(step: int, cfg: TeacherTrainConfig) -> float:
    """The caption schedule: canonical captions only for the first canonical_until steps, then a mix."""
    return 1.0 if step < cfg.canonical_until else cfg.canonical_fraction


def step_lr(step: int, cfg: TeacherTrainConfig) -> float:
    """The run's learning rate at a step: warm-up, then cosine (or constant, then a cosine tail)."""
    if cfg.decay_steps is None:
        return cosine_lr(step, cfg.lr, cfg.warmup, cfg.steps)
    return wsd_lr(step, cfg.lr, cfg.warmup, cfg.steps, cfg.decay_steps)


def _batch(data: dict, idx: torch.Tensor, cfg: TeacherTrainConfig, step: int, gen: torch.Generator, backbone):
    x0 = data["latents"][idx].float()  # (B, C, f, h, w)
    b = len(idx)
    canon = (torch.rand(b, generator=gen) < canonical_probability(step, cfg))[:, None]  # (B, 1)
    # every caption's states are stored padded to the text encoder's length, so they stack as they are
    states = torch.where(canon[..., None], data["canonical_states"][idx], data["world_states"][idx]).float()
    mask = torch.where(canon, data["canonical_mask"][idx], data["world_mask"][idx]).bool()  # (B, L)
    drop = torch.rand(b, generator=gen) < cfg.text_dropout
    states[drop] = data["empty_states"].float()
    mask[drop] = data["empty_mask"].bool()
    present = torch.rand(b, generator=gen) < cfg.i2v_fraction
    condition = backbone.condition(data["first_latents"][idx].float(), tuple(x0.shape), present)
    noise = torch.randn(x0.shape, generator=gen)
    sigma = train_timesteps(b, gen, cfg.train_shift)
    return x0, backbone.text_from_states(states, mask), condition, noise, sigma


def build_model(cfg: TeacherTrainConfig):
    """A fresh transformer of the preset, or the one in cfg.init."""
    if not cfg.init:
        return build_transformer(cfg.preset)
    from accvideo.backbones.registry import ModelFolder

    return ModelFolder.open(cfg.init).load(load_parts=False).transformer.requires_grad_(True)


def proxy_parts(cfg: TeacherTrainConfig) -> tuple:
    """The VAE and text encoder the proxy decodes and prompts with."""
    from accvideo.models.autoencoder import ShapesAutoencoder
    from accvideo.models.text import MiniLMTextEncoder

    return ShapesAutoencoder.from_pretrained(cfg.vae).eval(), MiniLMTextEncoder()


def train_teacher(cfg: TeacherTrainConfig, resume: bool = False) -> Path | None:
    """Flow-matching training with text and first-frame dropout; returns the exported folder (None when stopped)."""
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    data = load_teacher_data(cfg.data)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    backbone = from_parts(ema)  # the miniature backbone, read for the layout of text, condition and velocity
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    objects = {"model": model, "ema": ema, "optimizer": opt}
    start, elapsed, extra = open_run(out, asdict(cfg), resume, objects)
    digest = file_digest(cfg.data)
    recorded = extra.get("data_sha256")
    if recorded and recorded != digest:
        warnings.warn(f"{cfg.data} is not the data this run started with (sha256 {digest[:12]}, the run's "
                      f"{recorded[:12]}): the run goes on, but no longer bit-exactly", stacklevel=2)
    log = LossLog(out / "loss.csv", ["loss", "lr"], resume_step=start if resume else None)
    proxy = ProxySettings(prompts=cfg.eval_prompts)
    proxy_log = LossLog(out / "proxy.csv", ["wall_minutes", "cpu_minutes", *proxy.fields()],
                        resume_step=start if resume else None)
    parts = proxy_parts(cfg) if cfg.eval_every else None
    n = len(data["latents"])

    def save(step: int) -> None:
        write_run_checkpoint(out, objects, step, loop.elapsed, cpu_seconds=loop.cpu, data_sha256=digest)

    loop = TrainLoop(start, cfg.steps, save, cfg.checkpoint_every, "train-teacher", stop_at=cfg.stop_at,
                     elapsed=elapsed, cpu=float(extra.get("cpu_seconds", 0.0)), max_minutes=cfg.max_minutes)
    for step in loop:
        gen = step_generator(cfg.seed, step)  # the batch depends only on (seed, step)
        idx = torch.randperm(n, generator=gen)[: cfg.batch_size]
        x0, text, condition, noise, sigma = _batch(data, idx, cfg, step, gen, backbone)
        lr = step_lr(step, cfg)
        set_lr(opt, lr)
        v = backbone.velocity(model, forward_diffuse(x0, noise, sigma), sigma, text, condition)
        per_cell = flow_matching_loss(v, x0, noise)  # (B, C, f, h, w)
        if cfg.foreground_weight == 1.0:
            loss = per_cell.mean()
        else:
            weight = 1.0 + (cfg.foreground_weight - 1.0) * latent_foreground(x0)  # (B, 1, f, h, w)
            loss = (per_cell * weight).mean() / weight.mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}; the last good checkpoint is {out / CHECKPOINT}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema_update(ema, model, cfg.ema)
        log.append(step + 1, loss=loss.item(), lr=lr)
        loop.show(loss=f"{loss.item():.4f}")
        if parts and (step + 1) % cfg.eval_every == 0:  # before the checkpoint: a kill mid-eval redoes both
            with loop.untimed():  # the proxy's own time is not training time
                row = proxy_eval(ema, *parts, proxy)
                proxy_log.append(step + 1, wall_minutes=loop.elapsed / 60, cpu_minutes=loop.cpu / 60, **row)
                loop.write(f"step {step + 1}: proxy " + " ".join(f"{k}={v:.3g}" for k, v in row.items()))
    if not loop.finished:
        return None
    return export_teacher(ema, out / "final", cfg, loop.elapsed)


def export_teacher(transformer, folder: Path, cfg: TeacherTrainConfig, seconds: float) -> Path:
    """Save the (EMA) transformer in diffusers format with its sampling settings."""
    from accvideo.settings import SamplingSettings, relative_path

    folder.mkdir(parents=True, exist_ok=True)
    transformer.save_pretrained(folder)
    SamplingSettings(kind="teacher", vae=relative_path(folder, Path(cfg.vae))).save(folder)
    (folder / "training.json").write_text(json.dumps({"train_seconds": seconds, "config": asdict(cfg)}, indent=2))
    return folder


def export_teacher_checkpoint(run: str | Path, folder: str | Path | None = None) -> Path:
    """Export the EMA weights of a run's latest checkpoint as a teacher folder (default RUN/checkpoint-teacher),
    mid-run and without its data: the run is left as it was and can resume."""
    run = Path(run)
    config_file = run / "train_config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run} is not a teacher training run (no train_config.json)")
    cfg = TeacherTrainConfig(**json.loads(config_file.read_text()))
    state = load_checkpoint(run / CHECKPOINT)
    model = build_model(cfg)
    model.load_state_dict(state["ema"])
    out = export_teacher(model, Path(folder) if folder else run / "checkpoint-teacher", cfg, state["elapsed"])
    info = json.loads((out / "training.json").read_text())
    info.update(step=state["step"], cpu_seconds=state.get("cpu_seconds"), from_checkpoint=str(run / CHECKPOINT))
    (out / "training.json").write_text(json.dumps(info, indent=2))
    return out
