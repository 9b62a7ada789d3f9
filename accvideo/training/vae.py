"""`accvideo train-vae`: train the ShapesAutoencoder on rendered Shapes clips."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from accvideo.latents import to_model_space
from accvideo.resumable.loop import TrainLoop, set_lr
from accvideo.resumable.state import LossLog, check_config, cosine_lr, open_run, write_run_checkpoint
from accvideo.shapes import random_spec, render, split_seeds


@dataclass
class VAETrainConfig:
    """Settings of one VAE training run."""

    out: str = "runs/vae"  # run folder: checkpoint.json + .safetensors, loss.csv, final/ (diffusers format)
    steps: int = 3000  # optimiser steps
    batch_size: int = 8  # clips per step
    lr: float = 2e-3  # peak AdamW learning rate
    warmup: int = 100  # linear warm-up steps
    kl_weight: float = 1e-6  # weight of the KL term against the per-pixel reconstruction loss
    foreground_weight: float = 10.0  # loss weight of pixels on and around objects (background pixels weigh 1)
    train_clips: int = 4000  # rendered training clips, drawn from the training seed range
    widths: tuple[int, ...] = (32, 96)  # channels per resolution level of the autoencoder
    blocks_per_level: int = 2  # residual blocks per level
    z_dim: int = 16  # latent channels
    checkpoint_every: int = 100  # steps between checkpoints
    seed: int = 0  # seeds the model init and the batch order
    threads: int = 2  # torch CPU threads
    stop_at: int | None = None  # end this invocation after this step, without exporting (continue with resume)
    init: str | None = None  # start from this trained VAE folder
    decoder_only: bool = False  # train the decoder alone: the latent space (and any teacher trained on it) stays valid
    temporal_decoder: bool = False  # causal temporal convolutions across latent frames in the decoder
    temporal_weight: float = 0.0  # weight of the frame-to-frame change loss (keeps motion smooth across groups)
    keyframe_encoder: bool = False  # latent frame g encodes only frame 4g; the temporal decoder interpolates
    export_at_stop: bool = False  # with stop_at: export the VAE where it stops

    def __post_init__(self):
        check_config(self, ("steps", "batch_size", "train_clips", "checkpoint_every", "threads", "stop_at"), ("lr",))
        if self.batch_size > self.train_clips:
            raise ValueError(f"batch_size {self.batch_size} is larger than train_clips {self.train_clips}")


def render_split(split: str, n: int, offset: int = 0) -> np.ndarray:
    """Render n clips of a split: uint8 (n, F, H, W, 3)."""
    return np.stack([render(random_spec(s)) for s in split_seeds(split, n, offset)])


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element L1 + L2 reconstruction loss (unreduced)."""
    diff = recon - target
    return diff.abs() + diff.square()


def temporal_change_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-element L1 error of the frame-to-frame change (B, C, F - 1, H, W), unreduced.

    A decoder that reconstructs each group of frames on its own makes its errors jump at group boundaries;
    this term sees those jumps directly.
    """
    return ((recon[:, :, 1:] - recon[:, :, :-1]) - (target[:, :, 1:] - target[:, :, :-1])).abs()


def _from_init(cfg: VAETrainConfig):
    """The VAE of cfg.init; given a temporal decoder when asked (its temporal mixes start at zero: same output)."""
    from accvideo.models.autoencoder import ShapesAutoencoder

    base = ShapesAutoencoder.from_pretrained(cfg.init)
    if not cfg.temporal_decoder or base.config.temporal_decoder:
        return base
    config = {k: v for k, v in base.config.items() if not k.startswith("_")}
    model = ShapesAutoencoder(**{**config, "temporal_decoder": True})
    missing = model.load_state_dict(base.state_dict(), strict=False).missing_keys
    assert all(k.startswith("temporal.") for k in missing), missing
    return model


def foreground_mask(x: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """(B, 1, F, H, W) mask of pixels that differ from the clip's background colour, grown by one pixel.

    Objects cover a few percent of a Shapes clip; weighting them keeps the loss from being all background.
    """
    background = x.flatten(2).median(dim=2).values[:, :, None, None, None]  # (B, 3, 1, 1, 1): the majority colour
    mask = ((x - background).abs().amax(dim=1, keepdim=True) > threshold).float()  # (B, 1, F, H, W)
    b, _, f, h, w = mask.shape
    grown = F.max_pool2d(mask.transpose(1, 2).reshape(b * f, 1, h, w), 3, stride=1, padding=1)
    return grown.reshape(b, f, 1, h, w).transpose(1, 2)


def train_vae(cfg: VAETrainConfig, resume: bool = False) -> Path | None:
    """Train the autoencoder; returns the final diffusers-format folder (None when stopped at cfg.stop_at)."""
    from accvideo.models.autoencoder import ShapesAutoencoder

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    torch.manual_seed(cfg.seed)
    if cfg.init:
        model = _from_init(cfg)
    elif cfg.decoder_only:
        raise ValueError("decoder-only training needs --init: the VAE whose latent space is kept")
    else:
        model = ShapesAutoencoder(z_dim=cfg.z_dim, widths=cfg.widths, blocks_per_level=cfg.blocks_per_level,
                                  temporal_decoder=cfg.temporal_decoder, keyframe_encoder=cfg.keyframe_encoder)
    if cfg.decoder_only:
        model.encoder.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    objects = {"model": model, "optimizer": opt}
    start, elapsed, _ = open_run(out, asdict(cfg), resume, objects)
    log = LossLog(out / "loss.csv", ["loss", "psnr", "lr"], resume_step=start if resume else None)
    clips = render_split("train", cfg.train_clips)
    model.train()
    loop = TrainLoop(start, cfg.steps, lambda step: write_run_checkpoint(out, objects, step, loop.elapsed),
                     cfg.checkpoint_every, "train-vae", stop_at=cfg.stop_at, elapsed=elapsed)
    for step in loop:
        idx = np.random.default_rng([cfg.seed, step]).choice(len(clips), cfg.batch_size, replace=False)
        x = to_model_space(clips[idx])
        lr = cosine_lr(step, cfg.lr, cfg.warmup, cfg.steps)
        set_lr(opt, lr)
        with torch.set_grad_enabled(not cfg.decoder_only):
            dist = model.encode(x).latent_dist
        recon = model.decode(dist.sample()).sample
        weight = 1.0 + (cfg.foreground_weight - 1.0) * foreground_mask(x) if cfg.foreground_weight > 1 else 1.0
        rec = (reconstruction_loss(recon, x) * weight).mean()
        if cfg.temporal_weight:
            rec = rec + cfg.temporal_weight * (temporal_change_loss(recon, x) * weight[:, :, 1:]
                                               if torch.is_tensor(weight) else temporal_change_loss(recon, x)).mean()
        kl = dist.kl().mean() / x[0].numel()
        loss = rec + cfg.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            mse = F.mse_loss(recon.clamp(-1, 1), x).item() / 4  # in [0, 1] units
        psnr = 10 * np.log10(1 / max(mse, 1e-10))
        log.append(step + 1, loss=loss.item(), psnr=psnr, lr=lr)
        loop.show(loss=f"{loss.item():.4f}", psnr=f"{psnr:.1f}")
    if not loop.finished and not cfg.export_at_stop:
        return None
    return finalize_vae(model, out, clips, loop.elapsed, keep_stats=cfg.decoder_only)


@torch.no_grad()
def latent_stats(model, clips: np.ndarray, batch: int = 16) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the posterior means over clips."""
    zs = [model.encode(to_model_space(clips[i : i + batch])).latent_dist.mode() for i in range(0, len(clips), batch)]
    z = torch.cat(zs).transpose(0, 1).flatten(1)  # (C, N)
    return z.mean(1).tolist(), z.std(1).tolist()


def finalize_vae(model, out: Path, clips: np.ndarray, seconds: float, keep_stats: bool = False) -> Path:
    """Store latent statistics in the config (kept as they are when the encoder did not train) and save."""
    model.eval()
    if not keep_stats:
        mean, std = latent_stats(model, clips[:512])
        model.register_to_config(latents_mean=tuple(mean), latents_std=tuple(std))
    final = out / "final"
    model.save_pretrained(final)
    (final / "training.json").write_text(json.dumps({"train_seconds": seconds}, indent=2))
    return final
