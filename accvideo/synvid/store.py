"""SynVid on disk: settings, atomic chunk and shard files, per-shard manifests, the COMPLETE marker.

    DIR/synvid.json                 what the dataset is (teacher identity, seeds, schedule, sizes)
    DIR/pending/chunk-XXXXXXXX.safetensors   finished batches of a shard still being filled
    DIR/shards/shard-XXXXX.safetensors       samples [k S, (k + 1) S), tensors named "{id}.{field}"
    DIR/shards/shard-XXXXX.jsonl             manifest lines of that shard (id, prompt, seed, task, shard, sha256)
    DIR/manifest.jsonl, DIR/COMPLETE         written last, once every shard is there

Every file is written under a temporary name and renamed, so a kill leaves whole files or none.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from accvideo.validation import file_sha256  # noqa: F401 (SynVid's callers' way in)

FIELDS = ("latents", "text_states", "first_latent", "i2v")  # every sample; a diffusers backbone adds its own
SETTINGS = "synvid.json"
COMPLETE = "COMPLETE"
MANIFEST = "manifest.jsonl"


def field_names(sample: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """A sample's tensor names: FIELDS, then the backbone's extra conditioning fields in sorted order."""
    return FIELDS + tuple(sorted(k for k in sample if k not in FIELDS))


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    """Atomic JSON write; NaN and Inf are refused (they are not JSON)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    _atomic(path, lambda p: p.write_text(text))


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Atomic safetensors write."""
    _atomic(path, lambda p: save_file(tensors, str(p), metadata=metadata))


def sample_checksum(sample: dict[str, torch.Tensor]) -> str:
    """sha256 over a sample's tensors (fixed field order, raw bytes, dtype and shape included)."""
    h = hashlib.sha256()
    for name in field_names(sample):
        t = sample[name].contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class SynVidStore:
    """Paths and atomic writes of one SynVid folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def shard_name(self, k: int) -> str:
        return f"shard-{k:05d}"

    def shard_path(self, k: int) -> Path:
        return self.root / "shards" / f"{self.shard_name(k)}.safetensors"

    def shard_manifest_path(self, k: int) -> Path:
        return self.root / "shards" / f"{self.shard_name(k)}.jsonl"

    def chunk_path(self, first_id: int) -> Path:
        return self.root / "pending" / f"chunk-{first_id:08d}.safetensors"

    def settings(self) -> dict | None:
        path = self.root / SETTINGS
        return json.loads(path.read_text()) if path.exists() else None

    def is_complete(self) -> bool:
        return (self.root / COMPLETE).exists()

    def shard_done(self, k: int) -> bool:
        """A shard is done when its tensors and its manifest are both in place."""
        return self.shard_path(k).exists() and self.shard_manifest_path(k).exists()

    def shard_intact(self, k: int) -> bool:
        """Done, readable, and every sample's checksum equal to its manifest line (a resumed run re-records
        a shard that fails this, instead of marking a damaged dataset COMPLETE)."""
        if not self.shard_done(k):
            return False
        try:
            tensors = load_file(str(self.shard_path(k)))
            records = [json.loads(line) for line in self.shard_manifest_path(k).read_text().splitlines() if line]
            for rec in records:
                sample = {key.split(".", 1)[1]: t for key, t in tensors.items() if key.split(".", 1)[0] == str(rec["id"])}
                if set(FIELDS) - set(sample) or sample_checksum(sample) != rec["sha256"]:
                    return False
            return bool(records)
        except Exception:  # unreadable tensors or manifest: re-record the shard
            return False

    def write_chunk(self, first_id: int, samples: list[dict[str, torch.Tensor]]) -> None:
        tensors = {f"{first_id + j}.{name}": s[name] for j, s in enumerate(samples) for name in field_names(s)}
        write_tensors(self.chunk_path(first_id), tensors)

    def read_chunk(self, first_id: int, count: int) -> list[dict[str, torch.Tensor]] | None:
        """A pending chunk's samples, or None when it is missing or unreadable (it is then regenerated)."""
        path = self.chunk_path(first_id)
        if not path.exists():
            return None
        try:
            tensors = load_file(str(path))
            out = [{key.split(".", 1)[1]: t for key, t in tensors.items() if key.split(".", 1)[0] == str(first_id + j)}
                   for j in range(count)]
            if any(set(FIELDS) - set(sample) for sample in out):
                return None
            return out
        except Exception:  # a chunk from a different run or a damaged disk: regenerate it
            return None

    def write_shard(self, k: int, ids: list[int], samples: list[dict[str, torch.Tensor]], records: list[dict]) -> None:
        """Write a shard's tensors, then its manifest, then drop its pending chunks."""
        tensors = {f"{i}.{name}": s[name].contiguous() for i, s in zip(ids, samples) for name in field_names(s)}
        write_tensors(self.shard_path(k), tensors, metadata={"ids": json.dumps(ids)})
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
        _atomic(self.shard_manifest_path(k), lambda p: p.write_text(lines))
        for path in (self.root / "pending").glob("chunk-*.safetensors"):
            first = int(path.stem.split("-")[1])
            if ids[0] <= first <= ids[-1]:
                path.unlink(missing_ok=True)

    def finish(self, n_shards: int) -> None:
        """Concatenate the shard manifests into manifest.jsonl and write COMPLETE."""
        lines = "".join(self.shard_manifest_path(k).read_text() for k in range(n_shards))
        _atomic(self.root / MANIFEST, lambda p: p.write_text(lines))
        _atomic(self.root / COMPLETE, lambda p: p.write_text("complete\n"))

    def clean_temporaries(self) -> None:
        """Remove the temporary files a killed run of ours left behind, and nothing else.

        Only names this store writes: the top-level settings, manifest and marker, and the chunk and shard
        files (with their manifests) in pending/ and shards/. Any other *.tmp file stays where it is.
        """
        ours = [self.root / f"{name}.tmp" for name in (SETTINGS, MANIFEST, COMPLETE)]
        ours += list((self.root / "pending").glob("chunk-*.safetensors.tmp"))
        ours += list((self.root / "shards").glob("shard-*.safetensors.tmp"))
        ours += list((self.root / "shards").glob("shard-*.jsonl.tmp"))
        for path in ours:
            path.unlink(missing_ok=True)
