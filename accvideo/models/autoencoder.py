"""ShapesAutoencoder: a small causal video VAE with the interface of diffusers' AutoencoderKLWan.

Frames are grouped causally as in Wan's VAE: latent frame 0 encodes frame 0 alone, latent frame g > 0
encodes frames 4g-3 .. 4g, so F = 1 + 4k frames map to 1 + k latent frames. Each group is encoded by a
2D convolutional network with 4x spatial compression. With `temporal_decoder`, the decoder also mixes
latent frames with causal temporal convolutions at each resolution (as Wan's decoder does with its causal
3D convolutions): group g sees groups g-2 .. g, so consecutive groups decode consistently instead of
jumping at every group boundary. With `keyframe_encoder`, latent frame g encodes only frame 4g (a
crisp image latent, as easy for a teacher to model for a moving object as for a still one) and the temporal
decoder rebuilds frames 4g-3 .. 4g from latent frames g-1 and g: exact for the Shapes world's constant-speed
motion, a lossy choice for real video. See assets/vae/README.md for why this class and not AutoencoderKLWan is
shipped for the miniature.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.vae import DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_outputs import AutoencoderKLOutput
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with a residual connection."""

    def __init__(self, channels: int):
        super().__init__()
        groups = min(8, channels)
        self.block = nn.Sequential(
            nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # (N, C, H, W)


class CausalTemporalMix(nn.Module):
    """A residual causal 3D convolution over latent frames: frame g reads frames g - k + 1 .. g.

    Works on the decoder's per-group layout (B * G, C, H, W); zero-initialised, so adding it to a trained
    decoder changes nothing until it is trained.
    """

    def __init__(self, channels: int, kernel_t: int = 3):
        super().__init__()
        self.kernel_t = kernel_t
        self.norm = nn.GroupNorm(min(8, channels), channels)
        self.conv = nn.Conv3d(channels, channels, (kernel_t, 3, 3), padding=(0, 1, 1))
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor, g: int) -> torch.Tensor:
        """x (B * G, C, H, W) with g = G latent frames per clip."""
        n, c, h, w = x.shape
        y = nn.functional.silu(self.norm(x)).reshape(n // g, g, c, h, w).transpose(1, 2)  # (B, C, G, H, W)
        y = torch.cat([y[:, :, :1].expand(-1, -1, self.kernel_t - 1, -1, -1), y], dim=2)  # causal: repeat the first
        y = self.conv(y)  # (B, C, G, H, W)
        return x + y.transpose(1, 2).reshape(n, c, h, w)


def _encoder(in_ch: int, out_ch: int, widths: tuple[int, ...], blocks: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.PixelUnshuffle(2), nn.Conv2d(in_ch * 4, widths[0], 3, padding=1)]
    for i, width in enumerate(widths):
        layers += [ResBlock(width) for _ in range(blocks)]
        if i + 1 < len(widths):
            layers.append(nn.Conv2d(width, widths[i + 1], 3, stride=2, padding=1))
    layers += [nn.GroupNorm(min(8, widths[-1]), widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], out_ch, 3, padding=1)]
    return nn.Sequential(*layers)


def _decoder(in_ch: int, out_ch: int, widths: tuple[int, ...], blocks: int) -> nn.Sequential:
    rev = tuple(reversed(widths))
    layers: list[nn.Module] = [nn.Conv2d(in_ch, rev[0], 3, padding=1)]
    for i, width in enumerate(rev):
        layers += [ResBlock(width) for _ in range(blocks)]
        if i + 1 < len(rev):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, rev[i + 1], 3, padding=1)]
    layers += [nn.GroupNorm(min(8, rev[-1]), rev[-1]), nn.SiLU(), nn.Conv2d(rev[-1], out_ch * 4, 3, padding=1),
               nn.PixelShuffle(2)]
    return nn.Sequential(*layers)


class ShapesAutoencoder(ModelMixin, ConfigMixin):
    """Causal video VAE: (B, 3, 1 + 4k, H, W) in [-1, 1] <-> (B, z_dim, 1 + k, H / s, W / s), s = 2 ** len(widths)."""

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        z_dim: int = 16,
        temporal_factor: int = 4,
        widths: tuple[int, ...] = (32, 96),
        blocks_per_level: int = 2,
        latents_mean: tuple[float, ...] | None = None,
        latents_std: tuple[float, ...] | None = None,
        temporal_decoder: bool = False,
        keyframe_encoder: bool = False,
    ):
        super().__init__()
        group_ch = in_channels * temporal_factor
        enc_ch = in_channels if keyframe_encoder else group_ch
        self.encoder = _encoder(enc_ch, 2 * z_dim, tuple(widths), blocks_per_level)
        self.decoder = _decoder(z_dim, group_ch, tuple(widths), blocks_per_level)
        # temporal mixes after each level's last residual block, keyed by the decoder layer they follow
        layers = list(self.decoder)
        ends = [i for i, layer in enumerate(layers[:-1]) if isinstance(layer, ResBlock)
                and not isinstance(layers[i + 1], ResBlock)]
        self.temporal = nn.ModuleDict({str(i): CausalTemporalMix(layers[i].block[2].in_channels) for i in ends}
                                      if temporal_decoder else {})

    @property
    def spatial_factor(self) -> int:
        """Pixels per latent cell along each side."""
        return 2 ** len(self.config.widths)

    def _group(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 1 + 4k, H, W) -> (B * (1 + k), C * 4, H, W), frame 0 repeated to fill group 0."""
        b, c, f, h, w = x.shape
        t = self.config.temporal_factor
        if (f - 1) % t:
            raise ValueError(f"frames must be 1 + {t}k, got {f}")
        x = torch.cat([x[:, :, :1].expand(b, c, t - 1, h, w), x], dim=2)  # (B, C, t(1+k), H, W)
        g = x.shape[2] // t
        x = x.reshape(b, c, g, t, h, w).permute(0, 2, 1, 3, 4, 5)  # (B, G, C, t, H, W)
        return x.reshape(b * g, c * t, h, w)

    def _keyframes(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 1 + 4k, H, W) -> (B * (1 + k), C, H, W): the last frame of each group (frames 0, 4, 8, ...)."""
        b, c, f, h, w = x.shape
        t = self.config.temporal_factor
        if (f - 1) % t:
            raise ValueError(f"frames must be 1 + {t}k, got {f}")
        keys = x[:, :, ::t]  # (B, C, 1 + k, H, W)
        return keys.transpose(1, 2).reshape(-1, c, h, w)

    def _ungroup(self, x: torch.Tensor, batch: int) -> torch.Tensor:
        """(B * G, C * 4, H, W) -> (B, C, 1 + 4(G - 1), H, W), dropping group 0's repeats."""
        t = self.config.temporal_factor
        n, ct, h, w = x.shape
        g = n // batch
        x = x.reshape(batch, g, ct // t, t, h, w).permute(0, 2, 1, 3, 4, 5)  # (B, C, G, t, H, W)
        return x.reshape(batch, ct // t, g * t, h, w)[:, :, t - 1 :]

    def encode(self, x: torch.Tensor, return_dict: bool = True) -> AutoencoderKLOutput | tuple:
        """Encode video (B, 3, F, H, W) in [-1, 1] to a diagonal Gaussian over (B, z_dim, G, h, w)."""
        b = x.shape[0]
        groups = self._keyframes(x) if self.config.keyframe_encoder else self._group(x)
        moments = self.encoder(groups)  # (B * G, 2 z, h, w)
        n, c2, h, w = moments.shape
        moments = moments.reshape(b, n // b, c2, h, w).permute(0, 2, 1, 3, 4)  # (B, 2 z, G, h, w)
        dist = DiagonalGaussianDistribution(moments)
        return AutoencoderKLOutput(latent_dist=dist) if return_dict else (dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True) -> DecoderOutput | tuple:
        """Decode latents (B, z_dim, G, h, w) to video (B, 3, 1 + 4(G - 1), H, W), roughly in [-1, 1]."""
        b, c, g, h, w = z.shape
        frames = z.permute(0, 2, 1, 3, 4).reshape(b * g, c, h, w)  # (B * G, z, h, w)
        for i, layer in enumerate(self.decoder):
            frames = layer(frames)
            if str(i) in self.temporal:
                frames = self.temporal[str(i)](frames, g)
        # frames: (B * G, 3 * 4, H, W)
        video = self._ungroup(frames, b)
        return DecoderOutput(sample=video) if return_dict else (video,)

    def forward(self, x: torch.Tensor, sample_posterior: bool = False) -> torch.Tensor:
        """Reconstruct a video (B, 3, F, H, W)."""
        dist = self.encode(x).latent_dist
        z = dist.sample() if sample_posterior else dist.mode()
        return self.decode(z).sample
