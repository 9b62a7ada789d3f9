"""Distillation's batches: --exclude."""

import pytest
import torch

from accvideo.distill.config import DistillConfig


def test_excluded_samples_never_enter_a_batch_and_nothing_else_changes(tiny_synvid, tmp_path):
    """--exclude FILE: the listed SynVid ids are left out of every batch; with none listed the draws are the
    ones of a run without the flag (old runs resume bit-exact)."""
    from accvideo.distill.data import KeyBatches, read_ids
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.resumable.loop import step_generator

    ds = SynVidDataset(tiny_synvid)
    ids_file = tmp_path / "misdrawn.txt"
    ids_file.write_text("# judged wrong\n3\n\n7  # two objects\n3\n")
    assert read_ids(str(ids_file)) == {3, 7}
    plain = KeyBatches(ds, 5, "accvideo", 2, 0)
    held = KeyBatches(ds, 5, "accvideo", 2, 0, exclude=read_ids(str(ids_file)))
    drawn, read = [], held.samples
    held.samples = lambda ids: drawn.extend(ids) or read(ids)
    for step in range(80):
        held(step, 0)
    assert sorted(set(drawn)) == [i for i in range(16) if i not in (3, 7)]
    first = torch.randperm(16, generator=step_generator(0, 5))[:2].tolist()  # what runs before --exclude drew
    assert torch.equal(plain(5)["latents"], plain.samples(first)["latents"])
    with pytest.raises(ValueError, match=r"excluded ids \[16\] are not samples"):
        KeyBatches(ds, 5, "accvideo", 2, 0, exclude=frozenset({16}))
    with pytest.raises(ValueError, match="exceeds the 2 training samples"):
        KeyBatches(ds, 5, "accvideo", 4, 0, exclude=frozenset(range(14)))
    (tmp_path / "bad.txt").write_text("3\nseven\n")
    with pytest.raises(ValueError, match="line 2: 'seven' is not a sample id"):
        read_ids(str(tmp_path / "bad.txt"))
    with pytest.raises(ValueError, match="cannot read the ids file"):
        read_ids(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="the real-data baseline has none"):
        DistillConfig(data="teacher_data.safetensors", data_kind="real", exclude=str(ids_file))
