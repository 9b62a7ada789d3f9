"""Reading SynVid: a torch Dataset of key latents with their text and I2V conditioning, validated on open."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
from safetensors import safe_open

from accvideo.models.teacher import architecture
from accvideo.synvid.store import COMPLETE, FIELDS, MANIFEST, SETTINGS, field_names, sample_checksum

FLOAT_FIELDS = ("latents", "text_states", "first_latent")


class SynVidError(ValueError):
    """A SynVid folder that is incomplete, corrupt or inconsistent; the message names the file."""


def read_settings(root: Path) -> dict:
    """synvid.json as a dict; SynVidError naming the file when it is missing or not a JSON object."""
    path = Path(root) / SETTINGS
    if not path.exists():
        raise SynVidError(f"{root} is not a SynVid folder (no {SETTINGS})")
    try:
        settings = json.loads(path.read_text())
    except ValueError as err:
        raise SynVidError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(settings, dict) or not isinstance(settings.get("samples"), int):
        raise SynVidError(f"{path}: not SynVid settings (no integer 'samples')")
    return settings


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
    if sorted(ids) != list(range(settings["samples"])) or max(ids.values()) != 1:
        raise SynVidError(f"{path}: ids are not exactly 0..{settings['samples'] - 1} once each")
    return sorted(records, key=lambda r: r["id"])


def check_sample(sample: dict[str, torch.Tensor], record: dict, settings: dict, path: Path) -> None:
    """Shapes, dtypes, finiteness and checksum of one sample; SynVidError naming the shard otherwise."""
    where = f"{path} (sample {record['id']})"
    missing = [f for f in FIELDS if f not in sample]
    if missing:
        raise SynVidError(f"{where}: missing {missing}")
    lat = sample["latents"]
    if lat.ndim != 5 or lat.shape[0] != len(settings["sigmas"]) or lat.dtype != torch.float32:
        raise SynVidError(f"{where}: latents {tuple(lat.shape)} {lat.dtype}, want ({len(settings['sigmas'])}, C, f, h, w)"
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
        self.sigmas = torch.tensor(self.settings["sigmas"], dtype=torch.float32)
        for name in sorted({r["shard"] for r in self.records}):
            if not (self.root / "shards" / name).exists():
                raise SynVidError(f"{self.root / 'shards' / name}: shard file is missing")
        self.backbone = self.settings.get("backbone", "miniature")
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
        """A stored sample's (text, condition) as its backbone reads them (accvideo.backbones.conditioning).

        The miniature: its text (states (L, D), or the HunyuanVideo class's dict with mask and pooled vector)
        and the I2V condition rebuilt from first_latent in the layout of the teacher's architecture.
        A diffusers backbone: its stored fields, text_* ones as the text (a dict when more than the states),
        the others (I2V condition latent, image tokens) as the condition, or None.
        """
        text_keys = [k for k in self.extra_fields if k.startswith("text_")]
        text = {"text_states": s["text_states"].float(), **{k: s[k].float() for k in text_keys}}
        if self.backbone == "miniature":
            lat = s["latents"]
            first = s["first_latent"][None] if bool(s["i2v"].item()) else None
            arch = architecture(self.settings.get("architecture") or "WanTransformer3DModel")
            return (text if text_keys else text["text_states"]), arch.condition(first, (1, *lat.shape[1:]))[0]
        cond_keys = [k for k in self.extra_fields if not k.startswith("text_")]
        condition = {k: s[k].float() for k in cond_keys} if cond_keys else None
        return (text if text_keys else text["text_states"]), condition

    def __getitem__(self, i: int) -> dict:
        s = self.raw(i)
        text, condition = self.conditioning(s)
        return {"latents": s["latents"], "sigmas": self.sigmas, "text_states": text, "condition": condition,
                "i2v": bool(s["i2v"].item()), "id": self.records[i]["id"], "prompt": self.records[i]["prompt"]}
