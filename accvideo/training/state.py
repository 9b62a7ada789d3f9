"""The checkpoint state's old import path: it lives in accvideo.resumable.state."""

from accvideo.resumable.state import (CHECKPOINT, CHECKPOINT_FORMAT, LossLog, check_choices,  # noqa: F401
                                      check_config, cosine_lr, file_digest, load_checkpoint, open_run, rng_state,
                                      save_checkpoint, set_rng_state, write_run_checkpoint, wsd_lr)
