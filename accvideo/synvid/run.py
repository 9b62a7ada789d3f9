"""Generate a SynVid dataset on one process or many (accelerate), resumable and bit-reproducible on CPU.

Sample ids are split into shards of `shard_size`, shard k goes to rank k mod world_size, and each
shard is filled in fixed batches of `batch_size` consecutive ids. Batches are therefore the same
whatever the number of processes or interruptions, and so are the tensors.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, fields
from pathlib import Path

import torch
from tqdm.auto import tqdm

from accvideo.synvid.record import record_batch, record_clean
from accvideo.synvid.settings import SynVidSettings, weights_sha256
from accvideo.synvid.sources import SampleRequest
from accvideo.synvid.store import SETTINGS, SynVidStore, sample_checksum, write_json


def teacher_identity(backbone: str, architecture: str | None, sha256: str) -> str:
    """A teacher in words: backbone, transformer class and the start of its weights' hash."""
    return f"{backbone}, {architecture or 'WanTransformer3DModel'}, weights sha256 {sha256[:12]}"


def teacher_mismatch(settings: SynVidSettings, teacher) -> str | None:
    """Why the ModelFolder `teacher` is not the teacher that recorded a SynVid (its `settings`): both described,
    or None when backbone, architecture and weights' hash all match. Reads configs and hashes the weights; loads
    nothing."""
    recorded = (settings.backbone, settings.architecture or "WanTransformer3DModel", settings.teacher_sha256)
    mine = (teacher.name, teacher.transformer_config().get("_class_name"), weights_sha256(teacher.transformer_dir))
    if recorded == mine or not recorded[2]:
        return None
    return (f"recorded by the teacher {settings.teacher} ({teacher_identity(*recorded)}), not by "
            f"{teacher.given} ({teacher_identity(*mine)})")


def check_target(store: SynVidStore, settings: SynVidSettings, resume: bool) -> None:
    """Refuse to mix datasets: an existing folder must hold the same dataset, and --resume must be given."""
    existing = store.settings()
    if existing is None:
        if any(store.root.glob("shards/*")) or any(store.root.glob("pending/*")):
            raise FileExistsError(f"{store.root} holds shards but no {SETTINGS}: not a SynVid folder to resume")
        if store.root.is_dir() and any(p.name != f"{SETTINGS}.tmp" for p in store.root.iterdir()):
            raise FileExistsError(f"{store.root} is not empty and not a SynVid folder: choose a new or empty --out")
        return
    wanted = asdict(settings)
    defaults = {f.name: f.default for f in fields(SynVidSettings) if f.default is not MISSING}  # keys added later
    diff = sorted(k for k in wanted if existing.get(k, defaults.get(k)) != wanted[k])
    if diff:
        raise FileExistsError(f"{store.root} already holds a different SynVid dataset (differs in: {', '.join(diff)})")
    if not resume:
        raise FileExistsError(f"{store.root} already holds this dataset: pass --resume to continue it")


def _fill_shard(generator, store: SynVidStore, settings: SynVidSettings, requests: list[SampleRequest], k: int,
                bar) -> None:
    ids = list(range(k * settings.shard_size, min((k + 1) * settings.shard_size, settings.samples)))
    samples: list[dict[str, torch.Tensor]] = []
    for start in range(0, len(ids), settings.batch_size):
        chunk_ids = ids[start : start + settings.batch_size]
        chunk = store.read_chunk(chunk_ids[0], len(chunk_ids))
        if chunk is None:
            batch = [requests[i] for i in chunk_ids]
            if settings.keep == "clean":  # a set of real clips: encoded, no teacher run
                chunk = record_clean(generator, batch, settings.frames)
            else:
                chunk = record_batch(generator, batch, settings.teacher_steps, settings.student_steps,
                                     settings.guidance, settings.shift, settings.keep, settings.height,
                                     settings.width, settings.frames)
            store.write_chunk(chunk_ids[0], chunk)
        samples += chunk
        bar.update(len(chunk_ids))
    records = [{"id": i, "prompt": requests[i].prompt, "seed": requests[i].seed, "task": requests[i].task,
                "shard": store.shard_path(k).name, "sha256": sample_checksum(s)} for i, s in zip(ids, samples)]
    store.write_shard(k, ids, samples, records)


def generate_synvid(generator, requests: list[SampleRequest], settings: SynVidSettings, out: str | Path,
                    resume: bool = False) -> Path:
    """Record every request's trajectory into `out`; this process's share when run under accelerate."""
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    store = SynVidStore(out)
    if len(requests) != settings.samples:
        raise ValueError(f"{len(requests)} requests for {settings.samples} samples")
    if state.is_main_process:
        check_target(store, settings, resume)
        store.clean_temporaries()
        write_json(store.root / SETTINGS, asdict(settings))
    state.wait_for_everyone()
    if store.is_complete():
        return store.root
    mine = [k for k in range(settings.n_shards) if k % state.num_processes == state.process_index]
    todo = [k for k in mine if not store.shard_intact(k)]
    total = sum(min(settings.shard_size, settings.samples - k * settings.shard_size) for k in mine)
    bar = tqdm(total=total, initial=total - sum(min(settings.shard_size, settings.samples - k * settings.shard_size)
                                                 for k in todo),
               desc=f"synvid rank {state.process_index}", unit="sample", disable=not state.is_local_main_process)
    for k in todo:
        _fill_shard(generator, store, settings, requests, k, bar)
    bar.close()
    state.wait_for_everyone()
    if state.is_main_process:
        missing = [k for k in range(settings.n_shards) if not store.shard_done(k)]
        if missing:
            raise RuntimeError(f"shards {missing} are missing after generation")
        store.finish(settings.n_shards)
    state.wait_for_everyone()
    return store.root
