"""Distillation's batches: --exclude and paraphrased captions."""

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
    held.samples = lambda ids, captions=None: drawn.extend(ids) or read(ids, captions)
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


def test_paraphrases_swap_captions_at_their_rate_seeded_by_step_and_read_like_stored_ones(
        tiny_synvid, tiny_model_dir, text_encoder, tmp_path):
    """--paraphrases FILE: a sample is trained with one of its other captions with probability --paraphrase-prob,
    the same choice at the same step (bit-exact resume), its latents untouched; the paraphrase's text is what the
    teacher's encoder gives, stored in fp16 as SynVid stores its own."""
    import json

    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.data import KeyBatches, encode_paraphrases, read_paraphrases
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.resumable.loop import step_generator

    ds = SynVidDataset(tiny_synvid)
    texts = {i: [f"a large red square moving up, version {i}", f"a tiny blue circle staying still, version {i}"]
             for i in range(0, 16, 2)}  # odd samples have none
    para = tmp_path / "para.jsonl"
    para.write_text("\n".join(json.dumps({"id": i, "prompts": t}) for i, t in texts.items()) + "\n\n")
    assert read_paraphrases(str(para), 16) == texts
    backbone = ModelFolder.open(str(tiny_model_dir)).load("cpu", text_encoder=text_encoder)
    table = encode_paraphrases(backbone, texts, batch_size=3)
    plain = KeyBatches(ds, 5, "accvideo", 4, 0)
    never = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=0.0)
    always = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=1.0)
    half = KeyBatches(ds, 5, "accvideo", 4, 0, paraphrases=table, paraphrase_prob=0.5)
    assert torch.equal(never(3)["text_states"], plain(3)["text_states"])
    batch, own = always(3), plain(3)
    assert torch.equal(batch["latents"], own["latents"])
    ids = plain.pool[torch.randperm(16, generator=step_generator(0, 3))[:4]].tolist()
    for b, (i, c) in enumerate(zip(ids, always.caption_choices(ids, 3))):
        if i in texts:
            want = backbone.encode_text([texts[i][c]])[0].half().float()
            assert torch.equal(batch["text_states"][b], want) and not torch.equal(want, own["text_states"][b])
        else:
            assert c == -1 and torch.equal(batch["text_states"][b], own["text_states"][b])
    choices = [c for step in range(60) for c in half.caption_choices(list(range(0, 16, 2)), step)]
    swapped = sum(c >= 0 for c in choices) / len(choices)
    assert 0.4 < swapped < 0.6 and {c for c in choices if c >= 0} == {0, 1}
    assert half.caption_choices([0, 2, 4], 7) == half.caption_choices([0, 2, 4], 7)
    for line, match in (('{"id": 16, "prompts": ["x"]}', "id 16 is not a sample"),
                        ('{"id": 1, "prompts": []}', "non-empty strings"), ("[1, 2]", "line 1: not a")):
        (tmp_path / "bad.jsonl").write_text(line + "\n")
        with pytest.raises(ValueError, match=match):
            read_paraphrases(str(tmp_path / "bad.jsonl"), 16)
    with pytest.raises(ValueError, match="cannot read the paraphrases file"):
        read_paraphrases(str(tmp_path / "missing.jsonl"), 16)
    with pytest.raises(ValueError, match="paraphrase_prob must be in"):
        DistillConfig(data="x", paraphrase_prob=1.5)
