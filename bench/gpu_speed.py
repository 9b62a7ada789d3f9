"""GPU speed of the method on the Wan2.1-T2V-1.3B architecture (random weights, bf16, 480x832x81), side by side.

Teacher (50 steps with CFG) against student (5 steps, no CFG): end to end (text encoding + denoising +
VAE decode) and denoising alone, peak memory, SynVid samples per hour, distillation seconds per
iteration (Algorithm 1, FSDP-free single GPU, gradient checkpointing) and model FLOP utilisation.
Prints JSON and appends a table to docs/results.md with the device and the date.

    python bench/gpu_speed.py                 # on a GPU: the real sizes
    python bench/gpu_speed.py --tiny          # smoke test on a CPU in well under a minute (tiny architecture)
"""

from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from pathlib import Path

import torch

from bench.results_file import GPU_SECTION, RESULTS

NOT_MEASURED = ("Not measured yet: run `python bench/gpu_speed.py` on a CUDA machine; "
                "it appends its figures here with the device and date.")  # docs/results.md's part before a run
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12}  # dense bf16, per GPU
PROMPT = "a cat walks on the grass, realistic, the camera follows it slowly"


def transformer_flops(transformer, tokens: int, text_tokens: int) -> float:
    """Forward FLOPs of one call: 2 x (linear weights) x tokens + attention (4 N^2 D self, 4 N T D cross)."""
    linear = sum(m.weight.numel() for m in transformer.modules() if isinstance(m, torch.nn.Linear))
    cfg = transformer.config
    d = cfg.num_attention_heads * cfg.attention_head_dim
    return 2.0 * linear * tokens + cfg.num_layers * (4.0 * tokens**2 * d + 4.0 * tokens * text_tokens * d)


def peak_flops(device: torch.device) -> float | None:
    """The GPU's dense bf16 peak, when known."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_generation(gen, settings, device: torch.device, **kw) -> dict:
    """One clip end to end with a cold text cache; seconds per stage and peak memory."""
    gen.backbone._text_cache.clear()
    gen.settings = settings
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    t0 = time.perf_counter()
    out = gen([PROMPT], [0], **kw)
    sync(device)
    total = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    t = out.timings
    return {"steps": out.steps, "nfe": out.nfe, "seconds_total": total, "seconds_text": t.text,
            "seconds_denoise": t.denoise, "seconds_decode": t.decode, "peak_gib": peak}


def build_teacher(folder: Path, size: str, device: torch.device, dtype: torch.dtype) -> None:
    """A WanPipeline of the named size with random weights, saved as a diffusers folder."""
    from accvideo.backbones.tiny import build_pipeline

    with torch.device(device):
        pipe = build_pipeline("WanPipeline", size)
    pipe.to(dtype=dtype)
    pipe.save_pretrained(folder)
    del pipe
    if device.type == "cuda":
        torch.cuda.empty_cache()


def distill_seconds(folder: Path, work: Path, geometry: tuple[int, int, int], device: torch.device, dtype: str,
                    iters: int) -> float:
    """Seconds per outer iteration of Algorithm 1 (m = 5 inner steps, batch 1), after one warm-up iteration."""
    from accvideo.backbones.registry import ModelFolder
    from accvideo.distill.config import DistillConfig
    from accvideo.distill.trainer import Distiller
    from accvideo.pipeline import VideoGenerator
    from accvideo.synvid.run import SynVidSettings, generate_synvid
    from accvideo.synvid.sources import SampleRequest

    h, w, f = geometry
    teacher = ModelFolder.open(folder)
    gen = VideoGenerator.from_folder(teacher, device=str(device), options=_options(dtype))
    settings = SynVidSettings.from_teacher(teacher, "bench", 2, teacher_steps=5, guidance=5.0, height=h, width=w,
                                           frames=f, shard_size=2, batch_size=1, teacher_sha256="bench")
    requests = [SampleRequest(i, PROMPT, i) for i in range(2)]
    data = generate_synvid(gen, requests, settings, work / "synvid")  # a 5-step SynVid: timing, not quality
    del gen
    d = Distiller(DistillConfig(data=str(data), teacher=str(folder), out=str(work / "distill"), iters=iters + 1,
                                batch_size=1, dtype=dtype, gradient_checkpointing=device.type == "cuda", threads=2))
    times = []
    for it in range(iters + 1):
        sync(device)
        t0 = time.perf_counter()
        for k in range(d.m - 1, -1, -1):
            d.inner_step(it, k)
        sync(device)
        times.append(time.perf_counter() - t0)
    return sum(times[1:]) / iters


def _options(dtype: str):
    from accvideo.backbones.base import LoadOptions

    return LoadOptions(dtype=dtype)


def run(args: argparse.Namespace) -> dict:
    """Every figure of one run."""
    from accvideo.pipeline import VideoGenerator
    from accvideo.schedules import STUDENT_STEPS, TEACHER_STEPS, flow_sigmas, key_timesteps
    from accvideo.settings import SamplingSettings
    from accvideo.synvid.record import record_batch
    from accvideo.synvid.sources import SampleRequest

    device = torch.device(args.device)
    dtype = "fp32" if args.tiny else "bf16"
    size = "tiny" if args.tiny else "1.3b"
    h, w, f = (32, 32, 9) if args.tiny else (480, 832, 81)
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="gpu_speed-"))
    t0 = time.perf_counter()
    build_teacher(work / "teacher", size, device, _options(dtype).torch_dtype)
    build_seconds = time.perf_counter() - t0
    gen = VideoGenerator.from_folder(str(work / "teacher"), device=str(device), options=_options(dtype))
    shift = 3.0
    teacher = SamplingSettings(steps=TEACHER_STEPS, shift=shift, guidance=5.0, height=h, width=w, frames=f, backbone="wan-t2v")
    keys = [float(s) for s in key_timesteps(flow_sigmas(TEACHER_STEPS, shift), STUDENT_STEPS)]
    student = teacher.for_student(keys)
    timed_generation(gen, student, device, steps=2)  # warm-up: kernels, allocator, caches
    results = {"teacher": timed_generation(gen, teacher, device), "student": timed_generation(gen, student, device)}
    tc, st = results["teacher"], results["student"]
    speedup = {"end_to_end": tc["seconds_total"] / st["seconds_total"],
               "denoise": tc["seconds_denoise"] / st["seconds_denoise"]}
    gen.backbone._text_cache.clear()
    sync(device)
    t0 = time.perf_counter()
    record_batch(gen, [SampleRequest(0, PROMPT, 0)], TEACHER_STEPS, STUDENT_STEPS, 5.0, shift, "key", h, w, f)
    sync(device)
    synvid_seconds = time.perf_counter() - t0
    shape = gen.backbone.noise_shape(h, w, f)
    pt, ph, pw = gen.backbone.patch_size(gen.transformer)
    tokens = (shape[1] // pt) * (shape[2] // ph) * (shape[3] // pw)
    per_call = transformer_flops(gen.transformer, tokens, gen.backbone.max_sequence_length)
    del gen
    if device.type == "cuda":
        torch.cuda.empty_cache()
    distill_s = distill_seconds(work / "teacher", work, (h, w, f), device, dtype, iters=1 if args.tiny else 2)
    peak = peak_flops(device)
    # distillation: per inner step the student runs forward + backward on 2 samples (real key latent + queued one)
    distill_flops = 5 * 3 * 2 * per_call
    mfu = None if peak is None else {
        "teacher_denoise": tc["nfe"] * per_call / tc["seconds_denoise"] / peak,
        "student_denoise": st["nfe"] * per_call / st["seconds_denoise"] / peak,
        "distill_student_fwd_bwd": distill_flops / distill_s / peak}
    return {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "date": datetime.date.today().isoformat(), "architecture": f"Wan2.1-T2V-{size} (random weights)",
            "dtype": dtype, "clip": f"{h}x{w}x{f}", "tokens": tokens, "tflops_per_call": per_call / 1e12,
            "build_seconds": build_seconds, **results, "speedup": speedup,
            "synvid_samples_per_hour": 3600.0 / synvid_seconds, "distill_seconds_per_iter": distill_s, "mfu": mfu}


def _row(label: str, r: dict) -> str:
    peak = "n/a" if r["peak_gib"] is None else f"{r['peak_gib']:.1f} GiB"
    return (f"| {label} | {r['seconds_total']:.2f} | {r['seconds_text']:.2f} | {r['seconds_denoise']:.2f} | "
            f"{r['seconds_decode']:.2f} | {peak} |")


def markdown(r: dict) -> str:
    """The run as a section of docs/results.md."""
    tc, st = r["teacher"], r["student"]
    mfu = ", ".join(f"{k} {v:.1%}" for k, v in (r["mfu"] or {}).items()) or "n/a (unknown peak FLOPs)"
    lines = [
        f"{GPU_SECTION}: {r['architecture']}, {r['clip']}, {r['dtype']} ({r['device']}, {r['date']})", "",
        "| run | total s | text s | denoise s | decode s | peak memory |", "|---|---|---|---|---|---|",
        _row(f"teacher, {tc['steps']} steps + CFG ({tc['nfe']} NFE)", tc),
        _row(f"student, {st['steps']} steps ({st['nfe']} NFE)", st), "",
        (f"- speed-up: end to end {r['speedup']['end_to_end']:.2f}x (goal >= 9.6x), "
         f"denoising {r['speedup']['denoise']:.2f}x (goal >= 18x)"),
        f"- SynVid: {r['synvid_samples_per_hour']:.1f} samples per hour per GPU (50 steps + CFG, key latents kept)",
        f"- distillation: {r['distill_seconds_per_iter']:.2f} s per iteration (m = 5 inner steps, batch 1)",
        f"- model FLOP utilisation: {mfu}", "", "Command: `python bench/gpu_speed.py`", "", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny architecture on the CPU (a smoke test)")
    p.add_argument("--device", help="default: cuda, or cpu with --tiny")
    p.add_argument("--results", help="markdown file to append to (default: docs/results.md; none with --tiny)")
    args = p.parse_args()
    args.device = args.device or ("cpu" if args.tiny else "cuda")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_speed: no CUDA device (use --tiny for the CPU smoke test)")
    torch.set_num_threads(2)
    result = run(args)
    print(json.dumps(result, indent=2))
    out = args.results or (None if args.tiny else RESULTS)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fh.write(markdown(result))


if __name__ == "__main__":
    main()
