"""The teacher's fast proxy, cheap enough to run inside training.

- Judged accuracy: how often the clip judge reads colour, shape, motion and size back from pixels on
  single-object canonical eval prompts (48 by default, 25 Euler steps on the shift-7 grid, CFG 5), T2V;
  I2V motion and frame-0 PSNR on the first of them with their first frames.
- Text reliance: the relative rise of the flow-matching loss (Eq. 3) on rendered eval clips when one word
  of the canonical caption is swapped. A model that reads a word pays for a wrong one; a rise near zero
  means that attribute comes from the noise, not from the prompt. It moves long before judged accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from accvideo.shapes.spec import COLOURS, MOTIONS, SHAPES, SIZES

RELIANCE_SIGMAS = (0.3, 0.6, 0.9)  # noise levels the text-reliance loss is averaged over


@dataclass
class ProxySettings:
    """What the proxy generates and judges."""

    prompts: int = 48  # single-object canonical eval prompts (T2V)
    i2v_prompts: int = 16  # the first of those again as I2V
    steps: int = 25  # Euler steps
    shift: float = 7.0  # flow shift of the sampling grid
    guidance: float = 5.0  # CFG scale
    batch_size: int = 16  # clips generated at once

    def fields(self) -> list[str]:
        """The proxy's CSV columns."""
        return [*(f"t2v_{a}" for a in PROXY_ATTRIBUTES), "t2v_all_three", "i2v_motion", "i2v_frame0_psnr",
                *(f"rise_{a}" for a in SWAPS)]


PROXY_ATTRIBUTES = ("colour", "shape", "motion", "size")
SWAPS = {"colour": tuple(COLOURS), "shape": SHAPES, "motion": MOTIONS, "size": tuple(SIZES)}  # attribute -> values


def swapped(spec, attr: str, rng: np.random.Generator):
    """The single-object spec with one attribute changed to another value of the world."""
    obj = spec.objects[0]
    other = rng.choice([v for v in SWAPS[attr] if v != getattr(obj, attr)])
    return replace(spec, objects=(replace(obj, **{attr: str(other)}),))


@torch.no_grad()
def text_reliance(backbone, n: int = 48, batch_size: int = 16) -> dict[str, float]:
    """Relative loss rise per attribute when that word of the canonical caption is swapped (T2V, fixed noise).

    backbone: a loaded miniature backbone (its transformer, VAE and text encoder). Returns {attr: rise}.
    """
    from accvideo.shapes.captions import canonical_caption
    from accvideo.shapes.render import render
    from accvideo.shapes.spec import random_spec, split_seeds

    rng = np.random.default_rng(0)
    specs = [random_spec(s, n_objects=1) for s in split_seeds("eval", n)]
    captions = {"true": [canonical_caption(s) for s in specs]}
    captions.update({a: [canonical_caption(swapped(s, a, rng)) for s in specs] for a in SWAPS})
    x0 = backbone.encode_video(np.stack([render(s) for s in specs]))  # (N, C, f, h, w)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    losses = {}
    for name, caps in captions.items():
        total = 0.0
        for i in range(0, n, batch_size):
            x, eps = x0[i : i + batch_size], noise[i : i + batch_size]
            text = backbone.encode_text(caps[i : i + batch_size])
            cond = backbone.condition(None, tuple(x.shape))
            for sigma in RELIANCE_SIGMAS:
                v = backbone.velocity(backbone.transformer, (1 - sigma) * x + sigma * eps, sigma, text, cond)
                total += (v - (eps - x)).pow(2).sum().item()
        losses[name] = total
    return {a: losses[a] / losses["true"] - 1 for a in SWAPS}


@torch.no_grad()
def proxy_eval(transformer, vae, text_encoder, settings: ProxySettings | None = None) -> dict[str, float]:
    """Generate and judge the proxy's prompts with `transformer` (e.g. the EMA weights): rates in [0, 1], dB."""
    from accvideo.backbones.registry import from_parts
    from accvideo.pipeline import VideoGenerator
    from accvideo.quality import eval_prompts, measure
    from accvideo.settings import SamplingSettings

    s = settings or ProxySettings()
    sampling = SamplingSettings(steps=s.steps, shift=s.shift, guidance=s.guidance)
    was_training = transformer.training
    gen = VideoGenerator.from_backbone(from_parts(transformer, vae, text_encoder, settings=sampling), sampling)
    prompts = eval_prompts(s.prompts, style="canonical")
    t2v = measure(gen, prompts, s.steps, "t2v", s.guidance, s.batch_size, desc="proxy t2v")
    row = {f"t2v_{a}": t2v[f"{a}_right"] for a in PROXY_ATTRIBUTES}
    row["t2v_all_three"] = t2v["all_three_right"]
    if s.i2v_prompts:
        i2v = measure(gen, prompts[: s.i2v_prompts], s.steps, "i2v", s.guidance, s.batch_size, desc="proxy i2v")
        row["i2v_motion"], row["i2v_frame0_psnr"] = i2v["motion_right"], i2v["frame0_psnr_db"]
    row.update({f"rise_{a}": r for a, r in text_reliance(gen.backbone, s.prompts, s.batch_size).items()})
    transformer.train(was_training)
    return row
