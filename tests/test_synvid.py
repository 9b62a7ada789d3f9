"""SynVid: recorded trajectories equal the sampler, resume after SIGKILL and 2 processes equal one run.

The CLI tests run twice: on a random tiny teacher, and on the shipped teacher (`--teacher teacher`).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from accvideo.schedules import flow_sigmas, key_timesteps

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def synvid_args(model_dir, out, *extra):
    return ["synvid", "generate", "--teacher", str(model_dir), "--shapes", "12", "--out", str(out),
            "--teacher-steps", "10", "--student-steps", "5", "--shard-size", "8", "--batch-size", "2",
            "--threads", "1", "--i2v-fraction", "0.5", "--seed", "3", *extra]


def run(args, **kw):
    return subprocess.run([sys.executable, "-m", "accvideo", *args], capture_output=True, text=True, timeout=600, **kw)


def shards(root):
    return {p.name: load_file(str(p)) for p in sorted((root / "shards").glob("*.safetensors"))}


def assert_same_dataset(a, b):
    sa, sb = shards(a), shards(b)
    assert sa.keys() == sb.keys() and sa
    for name in sa:
        assert sa[name].keys() == sb[name].keys()
        assert all(torch.equal(sa[name][k], sb[name][k]) for k in sa[name])
    assert (a / "manifest.jsonl").read_text() == (b / "manifest.jsonl").read_text()


@pytest.fixture(scope="module", params=["tiny", "shipped"])
def model_dir(request, tiny_model_dir):
    """The teacher the CLI runs: a random tiny one, or the shipped one by its name."""
    return tiny_model_dir if request.param == "tiny" else "teacher"


@pytest.fixture(scope="module")
def plain_run(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("synvid") / "plain"
    proc = run(synvid_args(model_dir, out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_dataset_contents_and_key_timesteps(plain_run):
    from accvideo.synvid.dataset import SynVidDataset

    ds = SynVidDataset(plain_run)
    assert len(ds) == 12
    keys = key_timesteps(flow_sigmas(10, 7.0), 5).float()
    assert torch.allclose(ds.sigmas, keys)
    settings = json.loads((plain_run / "synvid.json").read_text())
    # the I2V condition's layout: Wan2.1's (4 mask channels, then the first-frame latent) or HunyuanVideo-I2V's
    # latent_concat (the first-frame latent, then one mask channel), as the teacher's class asks
    hunyuan = settings.get("architecture") == "HunyuanVideoTransformer3DModel"
    item = ds[3]
    assert item["latents"].shape == (6, 16, 5, 16, 16)
    assert item["condition"].shape == ((17 if hunyuan else 20), 5, 16, 16)
    tasks = [ds[i]["i2v"] for i in range(12)]
    assert 0 < sum(tasks) < 12
    for i in range(12):
        mask = ds[i]["condition"][16:] if hunyuan else ds[i]["condition"][:4]
        assert bool(mask[:, 0].all()) == tasks[i] and not mask[:, 1:].any()
    assert settings["kept_indices"] == [0, 2, 4, 6, 8, 10] and len(settings["teacher_sha256"]) == 64


def test_recorded_trajectory_equals_direct_sampler(plain_run, model_dir, text_encoder):
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.dataset import SynVidDataset
    from accvideo.synvid.sources import shapes_requests

    torch.set_num_threads(1)
    ds = SynVidDataset(plain_run)
    gen = VideoGenerator.from_folder(str(model_dir), text_encoder=text_encoder)
    reqs = shapes_requests(12, 3, 0.5, 64, 64, 17)[4:6]  # one batch of the run: ids 4 and 5
    present = torch.tensor([r.image is not None for r in reqs])
    first = torch.zeros(2, 16, 1, 16, 16)
    if present.any():
        first[present] = gen.encode_first_frames(torch.stack(
            [torch.from_numpy(r.image) for r in reqs if r.image is not None]).numpy())
    text = gen.encode_text([r.prompt for r in reqs])  # what the teacher reads (states, or states, mask, pooled)
    result = gen.denoise(gen.noise([r.seed for r in reqs], 64, 64, 17), text, gen.encode_text([""] * 2),
                         flow_sigmas(10, 7.0), gen.settings.guidance, first if present.any() else None,
                         return_trajectory=True, present=present)
    for b, i in enumerate((4, 5)):
        recorded = ds[i]["latents"]
        direct = torch.stack([result.trajectory[j][b] for j in (0, 2, 4, 6, 8, 10)])
        # the run was a subprocess; kernels set up in this process by earlier tests (under two threads) round
        # differently in the last bits (seen: 2e-7 after one step, 3e-5 after ten): equal up to float32 rounding
        assert torch.equal(recorded[0], direct[0]) and torch.allclose(recorded, direct, rtol=0, atol=1e-4)
    assert torch.allclose(ds[5]["latents"][-1], result.latent[1], rtol=0, atol=1e-4)


def test_sigkill_mid_shard_then_resume_equals_plain(plain_run, model_dir, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "accvideo", *synvid_args(model_dir, out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not list((out / "pending").glob("chunk-*.safetensors")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "COMPLETE").exists()  # it really died mid-run
    again = run(synvid_args(model_dir, out))
    assert again.returncode == 2 and "--resume" in again.stderr  # never mixed without a word
    resumed = run(synvid_args(model_dir, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_dataset(plain_run, out)
    assert not list(out.rglob("*.tmp")) and not list((out / "pending").glob("*"))


def test_two_processes_equal_one(plain_run, model_dir, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29533",
           "-m", "accvideo", *synvid_args(model_dir, out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_dataset(plain_run, out)


def test_other_settings_are_refused(plain_run, model_dir):
    proc = run(synvid_args(model_dir, plain_run, "--resume", "--guidance", "9"))
    assert proc.returncode == 2 and "different" in proc.stderr and "guidance" in proc.stderr


def test_corrupt_shard_is_named(plain_run, tmp_path):
    import shutil

    from accvideo.synvid.dataset import SynVidDataset, SynVidError

    bad = tmp_path / "bad"
    shutil.copytree(plain_run, bad)
    shard = bad / "shards" / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-100:] = bytes(100)  # zero the tail of the last sample's tensors
    shard.write_bytes(bytes(data))
    with pytest.raises(SynVidError, match="shard-00001"):
        SynVidDataset(bad)
    proc = run(["synvid", "verify", str(bad)])
    assert proc.returncode == 1 and "shard-00001" in proc.stderr
    (bad / "shards" / "shard-00000.safetensors").unlink()
    with pytest.raises(SynVidError, match="shard-00000"):
        SynVidDataset(bad, verify=False)


def test_info_and_verify(plain_run):
    proc = run(["synvid", "info", str(plain_run), "--json"])
    info = json.loads(proc.stdout)
    assert info["samples"] == 12 and info["shards"] == 2 and sum(info["tasks"].values()) == 12
    assert sum(info["prompt_words_histogram"].values()) == 12 and info["bytes_per_sample"] > 0
    assert run(["synvid", "verify", str(plain_run)]).returncode == 0


def test_launcher_really_starts_two_ranks(tmp_path):
    """Guards the 2-process tests: the launch command used there gives two ranks of one CPU group."""
    script = tmp_path / "ranks.py"
    script.write_text("import torch\nfrom accelerate import PartialState\n"
                      "s = PartialState(cpu=True)\nprint(f'rank {s.process_index} of {s.num_processes}', flush=True)\n")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29547",
           str(script)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    import re

    # the two ranks share one stdout pipe, so their lines may interleave: find the records anywhere
    assert sorted(re.findall(r"rank \d of \d", out)) == ["rank 0 of 2", "rank 1 of 2"]


def test_files_it_did_not_write_are_never_touched(tiny_model_dir, tmp_path):
    user = tmp_path / "u"
    (user / "deep").mkdir(parents=True)
    (user / "thesis.tmp").write_text("draft")
    (user / "deep" / "auto.tmp").write_text("x")
    args = ["synvid", "generate", "--teacher", str(tiny_model_dir), "--shapes", "2", "--shard-size", "2",
            "--batch-size", "2", "--teacher-steps", "10", "--threads", "1"]
    refused = run([*args, "--out", str(user)])
    assert refused.returncode == 2 and "not empty and not a SynVid folder" in refused.stderr
    assert sorted(str(p.relative_to(user)) for p in user.rglob("*")) == ["deep", "deep/auto.tmp", "thesis.tmp"]
    assert (user / "thesis.tmp").read_text() == "draft"

    out = tmp_path / "set"
    assert run([*args, "--out", str(out)]).returncode == 0
    (out / "notes.tmp").write_text("mine")
    (out / "shards" / "mine.tmp").write_text("mine")
    (out / "pending").mkdir(exist_ok=True)
    (out / "pending" / "chunk-00000000.safetensors.tmp").write_text("a killed run's half chunk")
    resumed = run([*args, "--out", str(out), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "notes.tmp").read_text() == (out / "shards" / "mine.tmp").read_text() == "mine"
    assert not (out / "pending" / "chunk-00000000.safetensors.tmp").exists()  # its own leftovers do go


def test_resume_re_records_a_damaged_shard(plain_run, model_dir, tmp_path):
    import shutil

    out = tmp_path / "damaged"
    shutil.copytree(plain_run, out)
    (out / "COMPLETE").unlink()  # as if killed before the end
    (out / "manifest.jsonl").unlink()
    shard = out / "shards" / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-100:] = bytes(100)
    shard.write_bytes(bytes(data))
    resumed = run(synvid_args(model_dir, out, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_dataset(plain_run, out)  # shard 1 recorded again, not marked COMPLETE as it was
    assert run(["synvid", "verify", str(out)]).returncode == 0


@pytest.mark.parametrize("damage", ["manifest-line", "manifest-id", "settings-json", "settings-samples"])
def test_malformed_manifest_or_settings_is_named(plain_run, tmp_path, damage):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(plain_run, bad)
    target = {"manifest-line": "manifest.jsonl", "manifest-id": "manifest.jsonl", "settings-json": "synvid.json",
              "settings-samples": "synvid.json"}[damage]
    text = {"manifest-line": "{broken\n", "manifest-id": '{"id": "zero"}\n', "settings-json": "{",
            "settings-samples": '{"samples": "many"}'}[damage]
    (bad / target).write_text(text)
    for command, code in (("info", 2), ("verify", 1)):
        proc = run(["synvid", command, str(bad)])
        assert proc.returncode == code and target in proc.stderr and "Traceback" not in proc.stderr


def test_synvid_misdrawn_lists_the_samples_the_judge_reads_wrong_for_distill_exclude(tiny_synvid, tiny_model_dir,
                                                                                     text_encoder, tmp_path):
    from accvideo.distill.data import read_ids
    from accvideo.pipeline import VideoGenerator
    from accvideo.shapes.judge import attribute_report, judge_clip
    from accvideo.synvid import misdrawn as synvid_misdrawn
    from accvideo.synvid.dataset import SynVidDataset

    ds = SynVidDataset(tiny_synvid)
    gen = VideoGenerator.from_folder(str(tiny_model_dir), text_encoder=text_encoder)
    wrong = synvid_misdrawn.misdrawn(gen, ds, batch_size=5)
    specs = synvid_misdrawn.specs_of(ds, list(range(len(ds))))
    for i in (0, 7, 15):  # the same verdict as judging the decoded clip alone
        report = attribute_report(judge_clip(gen.decode(ds.raw(i)["latents"][-1:])[0]), specs[i])
        bad = [a for a in ("colour", "shape", "motion") if not report[a]]
        assert wrong.get(i) == (", ".join(bad) or None)
    lines = synvid_misdrawn.ids_file(wrong, ds, "tiny")
    assert lines[0].startswith(f"# {len(wrong)} of 16 samples of tiny judged wrong")
    ids_path = tmp_path / "misdrawn.txt"
    ids_path.write_text("\n".join(lines) + "\n")
    assert read_ids(str(ids_path)) == set(wrong)  # what `accvideo distill --exclude` reads back


def test_settings_read_back_as_their_dataclass_from_any_version(tiny_synvid):
    """synvid.json reads back as SynVidSettings: a file from before the backbone and architecture were recorded
    takes their defaults; an unknown key, a missing one, or sigmas other than its settings give are refused."""
    from accvideo.settings import DEFAULT_BACKBONE
    from accvideo.synvid.dataset import SynVidDataset, SynVidError
    from accvideo.synvid.settings import SynVidSettings

    path = tiny_synvid / "synvid.json"
    saved = json.loads(path.read_text())
    settings = SynVidDataset(tiny_synvid, verify=False).settings
    assert isinstance(settings, SynVidSettings) and settings.sigmas == saved["sigmas"] and settings.keep == "all"
    old = SynVidSettings.from_json({k: v for k, v in saved.items() if k not in ("backbone", "architecture")}, path)
    assert (old.backbone, old.architecture, old.sigmas) == (DEFAULT_BACKBONE, None, saved["sigmas"])
    for bad, message in (({**saved, "bogus": 1}, "unknown bogus"),
                         ({k: v for k, v in saved.items() if k != "guidance"}, "no guidance"),
                         ({**saved, "sigmas": saved["sigmas"][::-1]}, "not the ones its settings give"),
                         ({**saved, "kept_indices": [0]}, "not the ones its settings give"),
                         ({**saved, "guidance": -1.0}, "guidance must be")):
        with pytest.raises(SynVidError, match=message) as err:
            SynVidSettings.from_json(bad, path)
        assert str(err.value).startswith(str(path))
