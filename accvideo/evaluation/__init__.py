"""Evaluation in the Shapes world: VBench-like metrics read from pixels, and `accvideo eval` to run them.

`metrics` (attribute accuracy, temporal flicker, subject consistency, sharpness), `frechet` (the FVD
analogue), `fidelity` (PSNR / SSIM against teacher@50); `specs`, `runner` and `report` drive the CLI;
`bootstrap` decides whether one spec beats another from their per-clip values (paired over prompts); `judging` is
the generate-and-judge loop that `runner` and the quality bar (accvideo.quality) share.
"""

from accvideo.evaluation.fidelity import capped_psnr, ssim, teacher_fidelity
from accvideo.evaluation.frechet import FEATURE_NAMES, clip_features, frechet_distance
from accvideo.evaluation.metrics import (
    SubjectConsistency,
    attribute_accuracy,
    attribute_rates,
    edge_energy,
    sharpness,
    subject_consistency,
    temporal_flicker,
)
from accvideo.evaluation.reading import PixelReading, read_pixels

__all__ = [
    "FEATURE_NAMES",
    "PixelReading",
    "SubjectConsistency",
    "attribute_accuracy",
    "attribute_rates",
    "capped_psnr",
    "clip_features",
    "edge_energy",
    "frechet_distance",
    "read_pixels",
    "sharpness",
    "ssim",
    "subject_consistency",
    "teacher_fidelity",
    "temporal_flicker",
]
