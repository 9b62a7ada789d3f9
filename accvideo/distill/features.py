"""The discriminator's noise-aware feature extractor (Eq. 8): the frozen teacher v_theta read through hooks.

For t'_k > 0 the output of the final block is read; for t'_k = 0 the block at two thirds of the depth
(the paper reads layers 60 and 40 of 60). The teacher's weights never change, but gradients flow
through it to the student's generated latent for the generator loss. The forward pass stops at the
block it reads.
"""

from __future__ import annotations

import torch

from accvideo.backbones.base import Backbone


class _StopForward(Exception):
    """Raised by the hook once the wanted block has run: nothing after it is computed."""


def default_layers(num_layers: int) -> tuple[int, int]:
    """(block read for t > 0, block read for t = 0): the last block and the one at 2/3 of the depth."""
    return num_layers - 1, max(0, round(2 * num_layers / 3) - 1)


class TeacherFeatures:
    """Callable: (latent (B, C, F, h, w), sigma, text, condition) -> token grid (B * f', D, h', w').

    `backbone` (accvideo.backbones) says how to call the teacher and where its blocks are. HunyuanVideo's 20
    dual- and 40 single-stream blocks count as one list of 60.
    """

    def __init__(self, teacher, backbone: Backbone, noisy_layer: int | None = None, clean_layer: int | None = None):
        self.backbone = backbone
        self.teacher = teacher.eval().requires_grad_(False)
        self.blocks = backbone.feature_blocks(teacher)
        n = len(self.blocks)
        last, two_thirds = default_layers(n)
        self.noisy_layer = last if noisy_layer is None else noisy_layer
        self.clean_layer = two_thirds if clean_layer is None else clean_layer
        for layer in (self.noisy_layer, self.clean_layer):
            if not 0 <= layer < n:
                raise ValueError(f"feature layer {layer} outside the teacher's {n} blocks")
        self.dim = backbone.feature_dim(teacher)
        self.patch = backbone.patch_size(teacher)

    def layer_for(self, sigma: float) -> int:
        """Which block is read at noise level sigma."""
        return self.clean_layer if sigma == 0 else self.noisy_layer

    def __call__(self, latent: torch.Tensor, sigma: float, text_states: torch.Tensor,
                 condition: torch.Tensor) -> torch.Tensor:
        captured: dict[str, torch.Tensor] = {}

        def hook(_module, _inputs, output):
            captured["x"] = self.backbone.block_tokens(output)
            raise _StopForward

        handle = self.blocks[self.layer_for(float(sigma))].register_forward_hook(hook)
        try:
            self.backbone.velocity(self.teacher, latent, float(sigma), text_states, condition)
        except _StopForward:
            pass
        finally:
            handle.remove()
        tokens = captured["x"]  # (B, N, D), N = f' * h' * w' in that order
        b, _, f, h, w = latent.shape
        pt, ph, pw = self.patch
        grid = tokens.reshape(b, f // pt, h // ph, w // pw, -1).permute(0, 1, 4, 2, 3)  # (B, f', D, h', w')
        return grid.reshape(b * (f // pt), -1, h // ph, w // pw).float()  # frames folded into the batch
