"""The miniature teacher: a stock diffusers video transformer in small configs, one model for T2V and I2V.

Two architectures, each a small registry of named size presets:

- Wan class (`WanTransformer3DModel`, presets `shapes-s`, `shapes-xs`, `test`): as in Wan2.1's I2V design
  the input is the noisy latent, then mask channels, then a conditioning latent, concatenated along
  channels: (B, C + T + C, F, h, w) with T = the VAE's temporal factor. Text enters by cross-attention
  over MiniLM's token states (B, L, 384).
- HunyuanVideo class (`HunyuanVideoTransformer3DModel`, presets `shapes-hy`, `test-hy`): joint attention
  over video and text tokens, a token refiner, and MiniLM's pooled sentence embedding in the modulation
  (`pooled_projections`); I2V by `image_condition_type="latent_concat"` as in HunyuanVideo-I2V: the input
  is the noisy latent, the conditioning latent, then one mask channel: (B, C + C + 1, F, h, w).

For I2V the conditioning latent is the VAE-encoded first frame followed by zeros and the mask marks latent
frame 0; for T2V both are all zeros. `architecture(transformer)` gives the functions that differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from accvideo.schedules import model_timesteps

LATENT_CHANNELS = 16  # z_dim of the shipped VAE (and of Wan's)
TEMPORAL_FACTOR = 4  # frames per latent frame; also the number of mask channels

# Size presets: named configs of WanTransformer3DModel for the miniature.
PRESETS: dict[str, dict] = {
    "shapes-s": dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=32, ffn_dim=512,
                     num_layers=6, freq_dim=64, rope_max_seq_len=64),
    "shapes-xs": dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=24, ffn_dim=384,
                      num_layers=4, freq_dim=64, rope_max_seq_len=64),
    "test": dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, ffn_dim=32,
                 num_layers=1, freq_dim=16, rope_max_seq_len=32),
}


# HunyuanVideo-class presets (HunyuanVideoTransformer3DModel keyword arguments besides the I2V channels).
HUNYUAN_PRESETS: dict[str, dict] = {
    "shapes-hy": dict(num_attention_heads=4, attention_head_dim=24, num_layers=1, num_single_layers=2,
                      num_refiner_layers=1, mlp_ratio=4.0, patch_size=2, patch_size_t=1, rope_axes_dim=(8, 8, 8)),
    "shapes-hy-deep": dict(num_attention_heads=4, attention_head_dim=24, num_layers=2, num_single_layers=4,
                           num_refiner_layers=1, mlp_ratio=4.0, patch_size=2, patch_size_t=1, rope_axes_dim=(8, 8, 8)),
    "test-hy": dict(num_attention_heads=2, attention_head_dim=8, num_layers=1, num_single_layers=1,
                    num_refiner_layers=1, mlp_ratio=2.0, patch_size=2, patch_size_t=1, rope_axes_dim=(2, 2, 4)),
}


def preset_names() -> list[str]:
    """Every size preset, of both architectures."""
    return sorted(PRESETS) + sorted(HUNYUAN_PRESETS)


def build_transformer(preset: str, text_dim: int = 384, latent_channels: int = LATENT_CHANNELS,
                      temporal_factor: int = TEMPORAL_FACTOR):
    """A randomly initialised transformer of a named size (either architecture), with I2V input channels."""
    from diffusers import HunyuanVideoTransformer3DModel, WanTransformer3DModel

    if preset in HUNYUAN_PRESETS:
        return HunyuanVideoTransformer3DModel(
            in_channels=2 * latent_channels + 1, out_channels=latent_channels, text_embed_dim=text_dim,
            pooled_projection_dim=text_dim, guidance_embeds=False, image_condition_type="latent_concat",
            qk_norm="rms_norm", **HUNYUAN_PRESETS[preset],
        )
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {preset_names()}")
    return WanTransformer3DModel(
        in_channels=2 * latent_channels + temporal_factor, out_channels=latent_channels, text_dim=text_dim,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", **PRESETS[preset],
    )


def i2v_condition(first_latent: torch.Tensor | None, shape: tuple[int, ...], temporal_factor: int = TEMPORAL_FACTOR,
                  present: torch.Tensor | None = None) -> torch.Tensor:
    """Mask + conditioning latent (B, T + C, F, h, w) for latents of `shape` (B, C, F, h, w).

    first_latent (B, C, 1, h, w) is the encoded first frame, or None for T2V; `present` (B,) bool
    switches I2V off per sample (first-frame dropout) while keeping one batch.
    """
    b, c, f, h, w = shape
    cond = torch.zeros(b, c, f, h, w)
    mask = torch.zeros(b, temporal_factor, f, h, w)
    if first_latent is not None:
        keep = torch.ones(b, dtype=torch.bool) if present is None else present.cpu()
        cond[keep, :, :1] = first_latent[keep].float().cpu()
        mask[keep, :, :1] = 1.0
    return torch.cat([mask, cond], dim=1)


def velocity(transformer, latents: torch.Tensor, sigma: torch.Tensor | float, text_states: torch.Tensor,
             condition: torch.Tensor) -> torch.Tensor:
    """The transformer's flow velocity v(l_t, t) (B, C, F, h, w) at noise level sigma (scalar or (B,))."""
    timestep = model_timesteps(sigma, latents.shape[0], latents.device)  # (B,)
    dtype = next(transformer.parameters()).dtype
    x = torch.cat([latents, condition.to(latents.device, latents.dtype)], dim=1).to(dtype)  # (B, 2C + T, F, h, w)
    out = transformer(hidden_states=x, timestep=timestep, encoder_hidden_states=text_states.to(x.device, dtype),
                      return_dict=False)[0]
    return out.to(latents.dtype)  # (B, C, F, h, w)


def hunyuan_condition(first_latent: torch.Tensor | None, shape: tuple[int, ...],
                      present: torch.Tensor | None = None) -> torch.Tensor:
    """Conditioning latent + one mask channel (B, C + 1, F, h, w), HunyuanVideo-I2V's latent_concat layout.

    first_latent (B, C, 1, h, w) or None for T2V; `present` (B,) bool switches I2V off per sample.
    """
    b, c, f, h, w = shape
    cond = torch.zeros(b, c + 1, f, h, w)
    if first_latent is not None:
        keep = torch.ones(b, dtype=torch.bool) if present is None else present.cpu()
        cond[keep, :c, :1] = first_latent[keep].float().cpu()
        cond[keep, c:, :1] = 1.0
    return cond


def pooled_text(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MiniLM's sentence embedding (B, D): token states (B, L, D) mean-pooled over the mask, L2-normalised."""
    m = mask.to(states.dtype)[..., None]  # (B, L, 1)
    mean = (states * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, D)
    return torch.nn.functional.normalize(mean, dim=-1)


def hunyuan_text(states: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The HunyuanVideo class's text conditioning: token states (B, L, D), their mask (B, L) and the pooled
    sentence vector (B, D)."""
    return {"text_states": states, "text_mask": mask.to(states.dtype), "text_pooled": pooled_text(states, mask)}


def hunyuan_velocity(transformer, latents: torch.Tensor, sigma: torch.Tensor | float, text: dict[str, torch.Tensor],
                     condition: torch.Tensor) -> torch.Tensor:
    """v(l_t, t) (B, C, F, h, w) of the HunyuanVideo class: latent_concat input, joint attention, pooled text."""
    timestep = model_timesteps(sigma, latents.shape[0], latents.device)  # (B,)
    dtype = next(transformer.parameters()).dtype
    dev = latents.device
    length = max(1, int(text["text_mask"].sum(1).max()))  # padding past the longest prompt is never attended
    x = torch.cat([latents, condition.to(dev, latents.dtype)], dim=1).to(dtype)  # (B, 2C + 1, F, h, w)
    out = transformer(hidden_states=x, timestep=timestep,
                      encoder_hidden_states=text["text_states"][:, :length].to(dev, dtype),
                      encoder_attention_mask=text["text_mask"][:, :length].to(dev, dtype),
                      pooled_projections=text["text_pooled"].to(dev, dtype), return_dict=False)[0]
    return out.to(latents.dtype)  # (B, C, F, h, w)


@dataclass(frozen=True)
class Architecture:
    """What differs between the two miniature architectures: conditioning layouts, velocity, feature taps."""

    class_name: str  # the diffusers class (config.json's _class_name)
    condition: Callable  # (first_latent | None, shape, present) -> the I2V condition tensor
    text: Callable  # (states (B, L, D), mask (B, L)) -> what the transformer reads as text
    velocity: Callable  # (transformer, latents, sigma, text, condition) -> v
    blocks: Callable  # transformer -> its blocks in depth order (feature taps)
    tokens: Callable  # a block's output -> its video tokens (B, N, D)
    patch: Callable  # transformer config -> patch size (t, h, w)
    lora_loader: str  # the diffusers LoRA loader whose save_lora_weights writes what its pipelines read


ARCHITECTURES = {
    "WanTransformer3DModel": Architecture(
        "WanTransformer3DModel", lambda first, shape, present=None: i2v_condition(first, shape, present=present),
        lambda states, mask: states, velocity, lambda t: list(t.blocks), lambda out: out,
        lambda c: tuple(c.patch_size), "WanLoraLoaderMixin"),
    "HunyuanVideoTransformer3DModel": Architecture(
        "HunyuanVideoTransformer3DModel", hunyuan_condition, hunyuan_text, hunyuan_velocity,
        lambda t: list(t.transformer_blocks) + list(t.single_transformer_blocks), lambda out: out[0],
        lambda c: (c.patch_size_t, c.patch_size, c.patch_size), "HunyuanVideoLoraLoaderMixin"),
}


def architecture(transformer_or_class) -> Architecture:
    """The architecture of a transformer (or of a diffusers class name)."""
    name = transformer_or_class if isinstance(transformer_or_class, str) else type(transformer_or_class).__name__
    if name not in ARCHITECTURES:
        raise ValueError(f"{name} is not a miniature architecture; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]
