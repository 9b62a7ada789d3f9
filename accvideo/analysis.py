"""Looking inside the pipeline, for the notebooks: how a teacher trajectory moves, what its blocks see, frame grids.

A trajectory here is a tensor `path` (P, ...) of latents along the sigma grid `sigmas` (P,), noise first, as
GenerationOutput.trajectory stacked or a SynVid sample's `latents`; extra dimensions (batch, C, f, h, w) are
reduced together. Feature grids are what the discriminator's extractor returns: (N, D, h', w') with frames
folded into N.
"""

from __future__ import annotations

import numpy as np
import torch

from accvideo.distill.features import TeacherFeatures

GAP = 2  # px of white between the tiles of a grid


def _as_path(path: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(list(path)).double() if isinstance(path, (list, tuple)) else path.double()


def _dt(sigmas: torch.Tensor, ndim: int) -> torch.Tensor:
    s = torch.as_tensor(sigmas, dtype=torch.float64)
    return (s[1:] - s[:-1]).view(-1, *([1] * (ndim - 1)))  # (P - 1, 1, ...)


def step_velocities(path: torch.Tensor | list[torch.Tensor], sigmas: torch.Tensor) -> torch.Tensor:
    """The velocity each Euler step applied, Eq. 5 solved for v: (l_{j+1} - l_j) / (t_{j+1} - t_j), (P - 1, ...)."""
    p = _as_path(path)
    return (p[1:] - p[:-1]) / _dt(sigmas, p.dim())


def step_change(path: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """RMS of l_{j+1} - l_j per step (P - 1,): how far the latent moves in each step."""
    p = _as_path(path)
    return (p[1:] - p[:-1]).flatten(1).pow(2).mean(1).sqrt()


def velocity_change(path: torch.Tensor | list[torch.Tensor], sigmas: torch.Tensor) -> torch.Tensor:
    """Relative L1 change of the velocity between adjacent steps, |v_{j+1} - v_j|_1 / |v_j|_1, (P - 2,).

    The measure of Liu et al. (2025a, Fig. 3) that the paper cites for choosing its key timesteps (Sec. 4.2):
    where it is large, one Euler step is a poor guess of where the trajectory goes.
    """
    v = step_velocities(path, sigmas).flatten(1)  # (P - 1, X)
    return (v[1:] - v[:-1]).abs().sum(1) / v[:-1].abs().sum(1).clamp_min(1e-12)


def shortcut_error(path: torch.Tensor | list[torch.Tensor], sigmas: torch.Tensor, indices: list[int]) -> torch.Tensor:
    """Per key interval (m,), from the noisy end: how far one Euler step with the trajectory's own velocity at
    t'_{k+1} lands from l_{t'_k}, relative to the interval's length: |l_b - l_a - (t_b - t_a) v_a| / |l_b - l_a|.

    0 for a straight interval; what the student must learn beyond the teacher's one-step answer (Eq. 6).
    """
    p, s = _as_path(path), torch.as_tensor(sigmas, dtype=torch.float64)
    v = step_velocities(p, s)
    out = []
    for a, b in zip(indices[:-1], indices[1:]):
        chord = p[b] - p[a]
        out.append((chord - (s[b] - s[a]) * v[a]).norm() / chord.norm().clamp_min(1e-12))
    return torch.stack(out)


def predicted_clean(path: torch.Tensor | list[torch.Tensor], sigmas: torch.Tensor) -> torch.Tensor:
    """Where each point heads, x_0 = x_t - t v (Sec. 3.1), with v of the step taken from it: (P - 1, ...)."""
    p = _as_path(path)
    t = torch.as_tensor(sigmas, dtype=torch.float64)[:-1].view(-1, *([1] * (p.dim() - 1)))  # (P - 1, 1, ...)
    return (p[:-1] - t * step_velocities(p, sigmas)).float()


@torch.no_grad()
def block_features(transformer, latent: torch.Tensor, sigma: float, text, condition: torch.Tensor,
                   layers: list[int] | None = None, backbone=None) -> list[torch.Tensor]:
    """Every (or the listed) block's output on latent (B, C, f, h, w) at sigma, as grids (B * f', D, h', w').

    Read through the discriminator's own extractor (TeacherFeatures), one block at a time. `text` and `condition`
    are what the backbone (the miniature's around `transformer` when omitted) feeds the transformer:
    `VideoGenerator.encode_text` and `backbone.condition(None, shape)` for text-to-video, whichever class the
    teacher is.
    """
    if backbone is None:
        from accvideo.backbones.registry import from_parts

        backbone = from_parts(transformer)
    if layers is None:
        layers = list(range(len(TeacherFeatures(transformer, backbone).blocks)))
    return [TeacherFeatures(transformer, backbone, layer, layer)(latent, sigma, text, condition) for layer in layers]


def pca_project(tokens: torch.Tensor, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens (T, D) -> their first k principal components (T, k) and the share of variance each explains (k,).

    Signs are fixed (each component's largest loading is positive), so repeated calls agree.
    """
    x = tokens.double() - tokens.double().mean(0)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)  # vh (r, D)
    vh = vh[:k] * torch.sign(vh[:k].gather(1, vh[:k].abs().argmax(1, keepdim=True)))
    explained = s.square() / s.square().sum().clamp_min(1e-24)
    return (x @ vh.T).float(), explained[:k].float()


def pca_rgb(grid: torch.Tensor, low: float = 0.01, high: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """Feature grid (N, D, h, w) -> one RGB image per row (N, h, w, 3) uint8 and the variance shares (3,).

    One PCA over all N h w tokens, so colours mean the same in every frame; each component is stretched
    between its `low` and `high` quantiles.
    """
    n, d, h, w = grid.shape
    proj, explained = pca_project(grid.permute(0, 2, 3, 1).reshape(-1, d), 3)  # (N h w, 3)
    lo, hi = torch.quantile(proj, low, dim=0), torch.quantile(proj, high, dim=0)
    rgb = ((proj - lo) / (hi - lo).clamp_min(1e-12)).clamp(0, 1)
    return (rgb.reshape(n, h, w, 3) * 255).round().to(torch.uint8).numpy(), explained.numpy()


def patch_tokens(latent: torch.Tensor, patch: tuple[int, int, int]) -> torch.Tensor:
    """Latent (B, C, f, h, w) -> one vector per transformer token, laid out like a feature grid:
    (B * f / pt, C * pt * ph * pw, h / ph, w / pw) for patch size (pt, ph, pw)."""
    b, c, f, h, w = latent.shape
    pt, ph, pw = patch
    x = latent.reshape(b, c, f // pt, pt, h // ph, ph, w // pw, pw)
    x = x.permute(0, 2, 1, 3, 5, 7, 4, 6)  # (B, f', C, pt, ph, pw, h', w')
    return x.reshape(b * (f // pt), c * pt * ph * pw, h // ph, w // pw)


def linear_probe_r2(features: torch.Tensor, targets: torch.Tensor, folds: int = 2, ridge: float = 0.1) -> float:
    """How much of targets (N, E, h, w) a ridge regression reads from features (N, D, h, w), token by token.

    R^2 on held-out rows: the N rows are cut into `folds` contiguous folds (so that, with rows in sample order,
    a sample's frames stay together) and each fold is predicted from the others. 1 is a perfect read; 0 is no
    better than predicting each held-out fold's mean; below 0 is worse. `ridge` is relative to the token count.
    """
    x = features.permute(0, 2, 3, 1).double()  # (N, h, w, D)
    y = targets.permute(0, 2, 3, 1).double()  # (N, h, w, E)
    fold = torch.arange(len(x)) * folds // len(x)  # (N,)
    sse, sst = 0.0, 0.0
    for k in range(folds):
        held = fold == k
        x_fit, y_fit = x[~held].reshape(-1, x.shape[-1]), y[~held].reshape(-1, y.shape[-1])
        x_out, y_out = x[held].reshape(-1, x.shape[-1]), y[held].reshape(-1, y.shape[-1])
        mean, std, y_mean = x_fit.mean(0), x_fit.std(0).clamp_min(1e-8), y_fit.mean(0)
        z = (x_fit - mean) / std
        gram = z.T @ z + ridge * len(z) * torch.eye(z.shape[1], dtype=z.dtype)
        weights = torch.linalg.solve(gram, z.T @ (y_fit - y_mean))  # (D, E)
        pred = (x_out - mean) / std @ weights + y_mean
        sse += float((y_out - pred).square().sum())
        sst += float((y_out - y_out.mean(0)).square().sum())
    return 1.0 - sse / max(sst, 1e-24)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of (..., H, W, 3) by an integer factor: keeps hard edges hard."""
    return image if scale == 1 else image.repeat(scale, axis=-3).repeat(scale, axis=-2)


def tile(images: np.ndarray, gap: int = GAP) -> np.ndarray:
    """A grid of images (R, C, H, W, 3) uint8 -> one image (R H + (R - 1) gap, C W + (C - 1) gap, 3), white gaps."""
    r, c, h, w, _ = images.shape
    out = np.full((r * h + (r - 1) * gap, c * w + (c - 1) * gap, 3), 255, np.uint8)
    for i in range(r):
        for j in range(c):
            out[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = images[i, j]
    return out


def frame_grid(clips: np.ndarray, frames: list[int] | None = None, every: int = 4, gap: int = GAP) -> np.ndarray:
    """Clips (B, F, H, W, 3) -> one image: a row per clip, a column per frame (every `every`-th, or `frames`)."""
    frames = list(range(0, clips.shape[1], every)) if frames is None else frames
    return tile(clips[:, frames], gap)


def side_by_side(clips: list[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Clips of equal length [(F, H, W, 3)] -> one clip (F, H, sum W + gaps, 3), for an animation."""
    return np.stack([tile(np.stack(frame)[None], gap) for frame in zip(*clips)])


class LiveLossCurves:
    """Algorithm 1's losses per key interval k, redrawn while it runs: pass `update` as `Distiller.run(on_step=...)`.

    Four panels (trajectory loss, generator and discriminator losses, logit gap of the head H_k) with one line per
    k, against the outer iteration. In a notebook the figure is shown once and redrawn in place after every outer
    iteration (after k = 0); `show=False` only collects (tests, scripts).
    """

    PANELS = (("traj", "trajectory loss (Eq. 6)"), ("gen", "generator loss (Eq. 7)"),
              ("disc", "discriminator loss (Eq. 7)"), ("logit gap", "logit real − logit fake"))

    def __init__(self, m: int, show: bool = True, height: int = 620):
        import plotly.express as px
        from plotly.subplots import make_subplots

        self.m = m
        self.fig = make_subplots(rows=2, cols=2, subplot_titles=[title for _, title in self.PANELS],
                                 vertical_spacing=0.14)
        self._trace: dict[tuple[int, str], int] = {}  # (k, panel key) -> index into fig.data
        colours = px.colors.qualitative.D3
        for k in range(m - 1, -1, -1):
            for i, (key, _) in enumerate(self.PANELS):
                self._trace[k, key] = len(self.fig.data)
                self.fig.add_scatter(x=[], y=[], mode="lines+markers", name=f"k = {k}", legendgroup=str(k),
                                     showlegend=i == 0, line=dict(color=colours[k % len(colours)]),
                                     marker=dict(size=4), row=i // 2 + 1, col=i % 2 + 1)
        self.fig.update_xaxes(title_text="iteration")
        self.fig.update_yaxes(type="log", row=1, col=1)
        self.fig.update_layout(height=height, margin=dict(t=50))
        self._handle = None
        if show:
            from IPython.display import display

            self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict:
        """The figure as a plotly mime bundle: a figure's own display would not honour display_id, so each redraw
        would add a figure below the last instead of replacing it."""
        from accvideo.figures import mime_bundle

        return {**mime_bundle(self.fig), "text/plain": "loss curves"}  # with a PNG copy for a code host

    def value(self, row: dict[str, float], key: str) -> float:
        """One panel's value from a loss-log row."""
        return row["logit_real"] - row["logit_fake"] if key == "logit gap" else row[key]

    def update(self, row: dict[str, float]) -> None:
        """Add one inner step's row (iter, k, sigma and the losses); redraw after the iteration's last k."""
        k = int(row["k"])
        for key, _ in self.PANELS:
            trace = self.fig.data[self._trace[k, key]]
            trace.x = (*trace.x, int(row["iter"]))
            trace.y = (*trace.y, self.value(row, key))
            if key == "traj":
                trace.name = f"k = {k} (t'_k = {row['sigma']:.3f})"
        if k == 0 and self._handle is not None:
            self._handle.update(self._bundle(), raw=True)

    def series(self, k: int, key: str) -> tuple[list[int], list[float]]:
        """The (iterations, values) drawn so far for key interval k and one panel."""
        trace = self.fig.data[self._trace[k, key]]
        return list(trace.x), list(trace.y)
