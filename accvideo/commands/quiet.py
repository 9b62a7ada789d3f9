"""What a command prints: its own progress bars and one-line results. The libraries' progress bars ("Loading
weights: 100% ..."), their log lines below errors and their warnings are hidden unless `accvideo --verbose`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from collections.abc import Iterator

# read by these libraries when they are first imported (and by any process a command starts)
QUIET_ENVIRONMENT = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
                     "DIFFUSERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}
# (module, progress bars on?, enable, disable, verbosity getter, verbosity setter) of each library, set by its API
LIBRARIES = (("huggingface_hub.utils", "are_progress_bars_disabled", "enable_progress_bars", "disable_progress_bars",
              None, None),
             ("transformers.utils.logging", "is_progress_bar_enabled", "enable_progress_bar", "disable_progress_bar",
              "get_verbosity", "set_verbosity"),
             ("diffusers.utils.logging", "is_progress_bar_enabled", "enable_progress_bar", "disable_progress_bar",
              "get_verbosity", "set_verbosity"))
ERROR = 40  # logging.ERROR


@contextlib.contextmanager
def library_output(verbose: bool, import_libraries: bool = True) -> Iterator[None]:
    """Hide the libraries' progress bars, logs below errors and warnings (accvideo's own warnings stay) unless
    `verbose`; everything is restored on exit, so in-process callers (tests, notebooks) keep their settings.
    `import_libraries=False` quiets only libraries already imported (and, through the environment, later ones)."""
    if verbose:
        yield
        return
    saved_environment = {name: os.environ.get(name) for name in QUIET_ENVIRONMENT}
    os.environ.update(QUIET_ENVIRONMENT)
    restore = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore")
            warnings.filterwarnings("default", module=r"accvideo(\.|$)")
            for module, is_on, enable, disable, get_level, set_level in LIBRARIES:
                if not import_libraries and module.split(".")[0] not in sys.modules:
                    continue
                restore.append(quiet(module, is_on, enable, disable, get_level, set_level))
            yield
    finally:
        for undo in restore:
            undo()
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def quiet(module_name: str, is_on: str, enable: str, disable: str, get_level: str | None, set_level: str | None):
    """Turn one library's progress bars off and its verbosity to errors; returns the function that undoes it."""
    module = importlib.import_module(module_name)
    bars_on = getattr(module, is_on)()
    if is_on == "are_progress_bars_disabled":
        bars_on = not bars_on
    level = getattr(module, get_level)() if get_level else None
    getattr(module, disable)()
    if set_level:
        getattr(module, set_level)(ERROR)

    def undo() -> None:
        if bars_on:
            getattr(module, enable)()
        if set_level:
            getattr(module, set_level)(level)

    return undo
