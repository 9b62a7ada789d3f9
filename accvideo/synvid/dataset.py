"""Reading SynVid: a torch Dataset of key latents with their text and I2V conditioning, validated on open."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
from safetensors import safe_open

from accvideo.backbones.registry import backbone_class
from accvideo.synvid.settings import SynVidError, SynVidSettings
from accvideo.synvid.store import COMPLETE, FIELDS, MANIFEST, SETTINGS, field_names, sample_checksum

FLOAT_FIELDS = ("latents", "text_states", "first_latent")
HIST_BINS = (0, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200)  # prompt length bins in words (paper Fig. 5)


def read_settings(root: Path) -> SynVidSettings:
    """synvid.json as SynVidSettings; SynVidError naming the file when it is missing, not a JSON object or not the
    settings SynVid writes."""
    path = Path(root) / SETTINGS
    if not path.exists():
        raise SynVidError(f"{root} is not a SynVid folder (no {SETTINGS})")
    try:
        saved = json.loads(path.read_text())
    except ValueError as err:
        raise SynVidError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(saved, dict) or not isinstance(saved.get("samples"), int):
        raise SynVidError(f"{path}: not SynVid settings (no integer 'samples')")
    return SynVidSettings.from_json(saved, path)


def read_manifest(root: Path) -> list[dict]:
    """The manifest's records, sorted by id; raises SynVidError when ids are missing or repeated."""
    path = root / MANIFEST
    if not (root / COMPLETE).exists() or not path.exists():
        raise SynVidError(f"{root} is not a complete SynVid dataset (no {COMPLETE} marker or {MANIFEST})")
    records = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("id"), int):
                raise ValueError("no integer 'id'")
        except ValueError as err:
            raise SynVidError(f"{path}:{lineno}: not a manifest record ({err})") from err
        records.append(record)
    ids = Counter(r["id"] for r in records)
    settings = read_settings(root)
    if sorted(ids) != list(range(settings.samples)) or max(ids.values()) != 1:
        raise SynVidError(f"{path}: ids are not exactly 0..{settings.samples - 1} once each")
    return sorted(records, key=lambda r: r["id"])


def check_sample(sample: dict[str, torch.Tensor], record: dict, settings: SynVidSettings, path: Path) -> None:
    """Shapes, dtypes, finiteness and checksum of one sample; SynVidError naming the shard otherwise."""
    where = f"{path} (sample {record['id']})"
    missing = [f for f in FIELDS if f not in sample]
    if missing:
        raise SynVidError(f"{where}: missing {missing}")
    lat = sample["latents"]
    if lat.ndim != 5 or lat.shape[0] != len(settings.sigmas) or lat.dtype != torch.float32:
        raise SynVidError(f"{where}: latents {tuple(lat.shape)} {lat.dtype}, want ({len(settings.sigmas)}, C, f, h, w)"
                          " float32")
    if sample["text_states"].ndim != 2 or sample["first_latent"].shape[1] != 1:
        raise SynVidError(f"{where}: text_states or first_latent has the wrong shape")
    for name in FLOAT_FIELDS + tuple(k for k in field_names(sample)[len(FIELDS):] if sample[k].is_floating_point()):
        if not torch.isfinite(sample[name].float()).all():
            raise SynVidError(f"{where}: {name} holds NaN or Inf")
    if sample_checksum(sample) != record["sha256"]:
        raise SynVidError(f"{where}: checksum mismatch")


class SynVidDataset(torch.utils.data.Dataset):
    """Samples of a SynVid folder: key latents (K, C, f, h, w), their sigmas (K,), text states (L, D),
    the I2V condition (T + C, f, h, w) and the task. `verify=True` checks every sample on open."""

    def __init__(self, root: str | Path, verify: bool = True):
        self.root = Path(root)
        self.settings = read_settings(self.root)
        self.records = read_manifest(self.root)
        self.sigmas = torch.tensor(self.settings.sigmas, dtype=torch.float32)
        for name in sorted({r["shard"] for r in self.records}):
            if not (self.root / "shards" / name).exists():
                raise SynVidError(f"{self.root / 'shards' / name}: shard file is missing")
        self.backbone = self.settings.backbone
        self._reader = backbone_class(self.backbone)  # reads the stored conditioning back (stored_conditioning)
        self.extra_fields = self._extra_fields()
        if verify:
            self.verify()

    def _extra_fields(self) -> tuple[str, ...]:
        """The conditioning fields a diffusers backbone stored beside FIELDS (none for the miniature)."""
        if not self.records:
            return ()
        rec = self.records[0]
        with self._shard(rec["shard"]) as f:
            names = [key.split(".", 1)[1] for key in f.keys() if key.split(".", 1)[0] == str(rec["id"])]
        return tuple(sorted(n for n in names if n not in FIELDS))

    def _shard(self, name: str):
        try:
            return safe_open(str(self.root / "shards" / name), framework="pt")
        except Exception as err:
            raise SynVidError(f"{self.root / 'shards' / name}: unreadable shard ({err})") from err

    def raw(self, i: int) -> dict[str, torch.Tensor]:
        """Sample i's stored tensors."""
        rec = self.records[i]
        path = self.root / "shards" / rec["shard"]
        with self._shard(rec["shard"]) as f:
            try:
                return {name: f.get_tensor(f"{rec['id']}.{name}") for name in FIELDS + self.extra_fields}
            except Exception as err:
                raise SynVidError(f"{path} (sample {rec['id']}): {err}") from err

    def verify(self) -> None:
        """Read every sample and check it (shapes, dtypes, NaN/Inf, checksums)."""
        for i, rec in enumerate(self.records):
            check_sample(self.raw(i), rec, self.settings, self.root / "shards" / rec["shard"])

    def __len__(self) -> int:
        return len(self.records)

    def conditioning(self, s: dict[str, torch.Tensor]) -> tuple:
        """A stored sample's (text, condition) as its teacher's backbone reads them (Backbone.stored_conditioning)."""
        return self._reader.stored_conditioning(s, self.extra_fields, self.settings)

    def __getitem__(self, i: int) -> dict:
        return self.item(i)

    def item(self, i: int) -> dict:
        """Sample i: its key latents, sigmas, conditioning, task, id and prompt."""
        s = self.raw(i)
        text, condition = self.conditioning(s)
        return {"latents": s["latents"], "sigmas": self.sigmas, "text_states": text, "condition": condition,
                "i2v": bool(s["i2v"].item()), "id": self.records[i]["id"], "prompt": self.records[i]["prompt"]}


def dataset_info(root: Path) -> dict:
    """Counts, tasks, bytes on disk and the prompt-length histogram (words) of a SynVid folder."""
    root = Path(root)
    records = read_manifest(root)
    settings = read_settings(root)
    size = sum(p.stat().st_size for p in (root / "shards").glob("*") if p.is_file())
    words = [len(str(r.get("prompt", "")).split()) for r in records]
    hist = Counter(max(b for b in HIST_BINS if b <= w) for w in words)
    return {"samples": len(records), "tasks": dict(Counter(r["task"] for r in records)),
            "shards": len({r["shard"] for r in records}), "bytes": size, "bytes_per_sample": size / len(records),
            "teacher": settings.teacher, "teacher_steps": settings.teacher_steps,
            "key_sigmas": settings.sigmas, "prompt_words_mean": sum(words) / len(words),
            "prompt_words_histogram": {f"{lo}+": hist[lo] for lo in HIST_BINS if hist[lo]}}
