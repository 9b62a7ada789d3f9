"""The one gate for what a person hands in: numbers, paths and JSON fields, checked before any model loads.

The command line, the studio and the config dataclasses call these same functions, so a rule holds
everywhere or nowhere. Each refusal is an `InvalidInput` (a ValueError) whose one-line message names the
flag, field or file and the value given. Nothing here imports torch or loads anything.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import stat
from pathlib import Path

MAX_SEED = 2**63 - 1  # torch.Generator seeds are 64-bit
MAX_STEPS = 1000  # Euler steps any command accepts (the teacher takes schedules.TEACHER_STEPS)
HASHED_FILE_BYTES = 64 << 20  # files up to this size are known by their sha256 on resume; larger ones by path


class InvalidInput(ValueError):
    """A value refused before any work starts; its message is one line naming what was given."""


class ImageTooLarge(InvalidInput):
    """An image whose header claims more pixels than Pillow decodes safely (a decompression bomb)."""


def _range_text(low, high, above=None) -> str:
    if above is not None:
        return f"> {above:g}" + (f" and <= {high:g}" if high is not None else "")
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}" if high is not None else ""


def whole(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """An int (or numpy integer; not a bool, not 1.5, not "3") in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if low is not None and high is None and value < low:
        raise InvalidInput(f"{name} must be at least {low}, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput(f"{name} must be {_range_text(low, high)}, got {value}")
    return value


def loose_whole(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """A whole number from a UI field: ints, floats like 5.0 and numeric strings; then as `whole`."""
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{name} must be a whole number, got {value!r}") from err
    if not number.is_integer():
        raise InvalidInput(f"{name} must be a whole number, got {value!r}")
    return whole(name, int(number), low, high)


def number(name: str, value, low: float | None = None, high: float | None = None,
           above: float | None = None) -> float:
    """A finite real number in [low, high] (or > above); NaN and Inf are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{name} must be a number, got {value!r}")
    bad = (not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high)
           or (above is not None and value <= above))
    if bad:
        raise InvalidInput(f"{name} must be a finite number {_range_text(low, high, above)}".rstrip()
                           + f", got {value}")
    return float(value)


def seed(name: str, value, high: int = MAX_SEED) -> int:
    """A noise seed: a whole number from 0 to `high`."""
    return whole(name, value, 0, high)


def steps(name: str, value, high: int = MAX_STEPS) -> int:
    """A number of Euler steps: 1 to `high`."""
    return whole(name, value, 1, high)


def guidance(name: str, value, low: float = 0.0, high: float | None = None) -> float:
    """A CFG scale: finite, >= low (1 = off)."""
    return number(name, value, low, high)


def text(name: str, value, empty: bool = False) -> str:
    """A string (non-blank unless `empty`)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}")
    if not empty and not value.strip():
        raise InvalidInput(f"{name} is empty")
    return value


def saved_fields(cls: type, saved: dict, ignored: frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """(keys no field of dataclass `cls` has, required fields absent) of a dict saved from it; `ignored` keys are
    neither (records beside the fields, fields earlier versions had)."""
    import dataclasses

    fields = dataclasses.fields(cls)
    unknown = sorted(set(saved) - {f.name for f in fields} - ignored)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING and f.name not in saved]
    return unknown, missing


def shared_fields(values: dict, label=lambda name: name) -> None:
    """The fields many configs hold, checked alike wherever they appear: seed, threads, batch_size
    (`label` turns a field name into what the person typed, e.g. a flag)."""
    if "seed" in values:
        seed(label("seed"), values["seed"])
    for name in ("threads", "batch_size"):
        if name in values:
            whole(label(name), values[name], low=1)


# paths


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return word
    return "not a regular file"


def _writable_parent(path: Path, name: str) -> None:
    """The nearest existing folder above `path` is a writable folder (not a file on the way)."""
    parent = path.parent if str(path.parent) else Path(".")
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidInput(f"{name} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInput(f"cannot write {path}: the folder {parent} is not writable")


def output_file(path: str | Path, name: str = "output") -> Path:
    """A file path that is absent or a regular file (replaced), in a writable folder; a folder, device, FIFO,
    socket or symbolic link there is refused."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a file on the way: said below
        mode = None
    except OSError as err:
        raise InvalidInput(f"{name} {path}: cannot be checked ({err.strerror})") from err
    if mode is not None and stat.S_ISDIR(mode):
        raise InvalidInput(f"{name} {path} is a folder; give a file name such as {path / 'clip.mp4'}")
    if mode is not None and not stat.S_ISREG(mode):
        raise InvalidInput(f"{name} {path} is {_kind(mode)}, not a regular file: only files are overwritten")
    _writable_parent(path, name)
    return path


def output_folder(path: str | Path, name: str = "--out") -> Path:
    """A folder path that is absent (below a writable folder) or an existing writable folder."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # a link to a folder is that folder: nothing in it is replaced
    except (FileNotFoundError, NotADirectoryError):
        _writable_parent(path, name)
        return path
    if not stat.S_ISDIR(mode):
        raise InvalidInput(f"{name} {path} is {_kind(mode) if not stat.S_ISREG(mode) else 'a file'}, not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidInput(f"cannot write into {name} {path}: the folder is not writable")
    return path


def _existing(path: str | Path, name: str, want: str) -> Path:
    """An existing regular file (want "file") or folder (want "folder") to read; InvalidInput naming what is there
    otherwise (a FIFO or device would block or never end)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{name} {path}: {want} not found")
    if not (path.is_file() if want == "file" else path.is_dir()):
        kind = "a file" if path.is_file() else _kind(path.stat().st_mode)
        raise InvalidInput(f"{name} {path} is {kind}, not a {want}")
    return path


def input_file(path: str | Path, name: str) -> Path:
    """An existing regular file to read."""
    return _existing(path, name, "file")


def input_folder(path: str | Path, name: str) -> Path:
    """An existing folder to read."""
    return _existing(path, name, "folder")


def image_size(path: str | Path, name: str = "image") -> tuple[int, int]:
    """(width, height) from an image file's header, without decoding it: a decompression bomb is refused here."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    path = input_file(path, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except Image.DecompressionBombError as err:
        raise ImageTooLarge(f"{name} {path} is far larger than any clip (refused unread)") from err
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InvalidInput(f"not a readable image: {path} ({err.__class__.__name__})") from err


def clip_image(path: str | Path, height: int, width: int, name: str = "image") -> Path:
    """An image file whose header says it is exactly width x height; its pixels are not read here."""
    w, h = image_size(path, name)
    if (h, w) != (height, width):
        raise InvalidInput(f"{name} {path} is {w}x{h}, the clip is {width}x{height}")
    return Path(path)


# JSON


def prompt_line(line: str, where: str) -> dict:
    """One .jsonl prompts line: {"prompt": str, "seed": int (optional), "image": str (optional)}; the other
    keys are ignored."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{where}: not a JSON object with a 'prompt' (JSONDecodeError)") from err
    if not isinstance(obj, dict) or "prompt" not in obj:
        raise InvalidInput(f"{where}: not a JSON object with a 'prompt' (KeyError)")
    record = {"prompt": text(f"{where}: 'prompt'", obj["prompt"]), "seed": None, "image": None}
    if obj.get("seed") is not None:
        record["seed"] = seed(f"{where}: seed", obj["seed"])
    if obj.get("image") is not None:
        record["image"] = text(f"{where}: 'image'", obj["image"])
    return record


def json_object(path: str | Path) -> dict:
    """A JSON file holding one object; InvalidInput naming the file otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a JSON object")
    return data


# identities (resume compares what a path names, not how it was typed)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def synvid_id(root: Path) -> str:
    """A SynVid folder's content id: sha256 of its settings and manifest (every sample's checksum is in it)."""
    h = hashlib.sha256()
    for name in ("synvid.json", "manifest.jsonl"):
        path = root / name
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()


def path_identity(value: str | None) -> str | None:
    """What a path names, wherever it is typed from: a SynVid's content id, a small file's sha256, else the
    resolved path; a model name such as 'teacher' stays as it is."""
    if value is None:
        return None
    path = Path(value)
    if (path / "synvid.json").is_file():
        return f"synvid:{synvid_id(path)}"
    if path.is_file() and path.stat().st_size <= HASHED_FILE_BYTES:
        return f"sha256:{file_sha256(path)}"
    if path.exists():
        return f"path:{path.resolve()}"
    return f"name:{value}"
