"""The resumable loop's old import path: it lives in accvideo.resumable.loop."""

from accvideo.resumable.loop import (MAX_RANKS, SEED_STRIDE, TrainLoop, ema_update, set_lr,  # noqa: F401
                                     step_generator)
