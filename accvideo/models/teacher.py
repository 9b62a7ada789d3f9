"""The miniature teacher: diffusers' WanTransformer3DModel in small configs, one model for T2V and I2V.

As in Wan2.1's I2V design the transformer's input is the noisy latent, then mask channels, then a
conditioning latent, concatenated along channels: (B, C + T + C, F, h, w) with T = the VAE's temporal
factor. For I2V the conditioning latent is the VAE-encoded first frame followed by zeros and the mask
marks latent frame 0; for T2V both are all zeros.
"""

from __future__ import annotations

import torch

from accvideo.schedules import TIMESTEP_SCALE

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


def build_transformer(preset: str, text_dim: int = 384, latent_channels: int = LATENT_CHANNELS,
                      temporal_factor: int = TEMPORAL_FACTOR):
    """A randomly initialised WanTransformer3DModel of a named size, with I2V input channels."""
    from diffusers import WanTransformer3DModel

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
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
    b = latents.shape[0]
    sigma = torch.as_tensor(sigma, dtype=torch.float32, device=latents.device)
    timestep = (sigma * TIMESTEP_SCALE).expand(b) if sigma.ndim == 0 else sigma * TIMESTEP_SCALE  # (B,)
    dtype = next(transformer.parameters()).dtype
    x = torch.cat([latents, condition.to(latents.device, latents.dtype)], dim=1).to(dtype)  # (B, 2C + T, F, h, w)
    out = transformer(hidden_states=x, timestep=timestep, encoder_hidden_states=text_states.to(x.device, dtype),
                      return_dict=False)[0]
    return out.to(latents.dtype)  # (B, C, F, h, w)
