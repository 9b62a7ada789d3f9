"""Can a projection head tell SynVid's key latents from a student's own, and how many updates does it take?

An offline probe of the discriminator (Eq. 7-8), one key timestep t'_k at a time. Real: SynVid's l'_{t'_k}.
Fake: the student's m-step chain from the same sample's noise, at t'_k (the student is the teacher itself
when --student is not given, i.e. Algorithm 1's starting point beta <- theta). Each source is read through
the frozen teacher at each of its blocks (--layers all) or at the blocks the trainer reads (Eq. 8), and as
the raw latent. A fresh head (accvideo.distill.heads.ProjectionHead) is trained on the fixed features of
the training samples for --steps updates (Adam, the trainer's betas) and its held-out accuracy is printed
(the sign of each clip-frame's mean logit, real and fake weighted alike; 0.5 is chance).

In a distillation run the heads get one update per key interval and iteration while the student keeps
moving; this probe says how many updates a head needs against a student that holds still.

    python bench/discriminator_probe.py --teacher T --data runs/synvid [--student runs/distill/final]
"""

from __future__ import annotations

import argparse
import json

import torch

from accvideo.backbones.base import LoadOptions
from accvideo.backbones.registry import ModelFolder
from accvideo.distill.data import KeyBatches, student_steps
from accvideo.distill.features import TeacherFeatures
from accvideo.distill.heads import ProjectionHead
from accvideo.distill.losses import discriminator_loss
from accvideo.sampling import sample_euler
from accvideo.synvid.dataset import SynVidDataset


def load_backbone(folder: str):
    """A model folder's backbone, transformer only, frozen."""
    backbone = ModelFolder.open(folder).load("cpu", LoadOptions(dtype="fp32"), load_parts=False)
    backbone.transformer.eval().requires_grad_(False)
    return backbone


@torch.no_grad()
def collect(backbone, student, batches: KeyBatches, m: int, layers: list[int], batch_size: int) -> dict:
    """{(k, source): (real, fake)}, each (N * f', D, h', w'): frames folded into the batch, samples in order.

    source: a teacher block index, or "latent" for the raw latent."""
    teacher = backbone.transformer
    readers = {layer: TeacherFeatures(teacher, backbone, layer, layer) for layer in layers}
    out: dict = {}
    n = len(batches.dataset)
    sigma = [float(s) for s in batches.sigmas]  # sigma[m - k] = t'_k
    for start in range(0, n, batch_size):
        batch = batches.samples(list(range(start, min(n, start + batch_size))))
        lat, text, cond = batch["latents"], batch["text_states"], batch["condition"]
        chain = sample_euler(lambda x, s: backbone.velocity(student, x, s, text, cond), lat[:, 0], batches.sigmas,
                             return_trajectory=True).trajectory  # from the sample's own noise; chain[m - k] at t'_k
        for k in range(m - 1, -1, -1):
            real, x = lat[:, m - k], chain[m - k]
            for layer, read in readers.items():
                pair = out.setdefault((k, layer), ([], []))
                pair[0].append(read(real, sigma[m - k], text, cond))
                pair[1].append(read(x, sigma[m - k], text, cond))
            pair = out.setdefault((k, "latent"), ([], []))
            for side, latent in zip(pair, (real, x)):
                side.append(latent.transpose(1, 2).flatten(0, 1))  # (B, C, f, h, w) -> (B * f, C, h, w)
    return {key: (torch.cat(r), torch.cat(f)) for key, (r, f) in out.items()}


def train_head(real: torch.Tensor, fake: torch.Tensor, n_train: int, steps: int, lr: float, batch: int,
               report: tuple[int, ...], norm: str = "group") -> dict[int, float]:
    """Train one head on the first n_train rows of each side; held-out accuracy at the report steps."""
    torch.manual_seed(0)
    head = ProjectionHead(real.shape[1], norm=norm)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, betas=(0.0, 0.99), weight_decay=0.0)  # as the trainer's
    gen = torch.Generator().manual_seed(0)
    accuracy = {}
    for step in range(1, steps + 1):
        r = real[torch.randint(n_train, (batch,), generator=gen)]
        f = fake[torch.randint(n_train, (batch,), generator=gen)]
        loss = discriminator_loss(head(r), head(f)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in report:
            with torch.no_grad():
                real_right = (head(real[n_train:]).flatten(1).mean(1) > 0).float().mean()
                fake_right = (head(fake[n_train:]).flatten(1).mean(1) < 0).float().mean()
            accuracy[step] = float(real_right + fake_right) / 2
    return accuracy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teacher", required=True, help="the teacher folder the SynVid came from")
    p.add_argument("--data", required=True, help="SynVid folder")
    p.add_argument("--student", help="a student folder (default: the teacher itself, the run's starting point)")
    p.add_argument("--student-steps", type=int, help="m (default: the SynVid's own)")
    p.add_argument("--holdout", type=int, default=32, help="the last samples, never trained on")
    p.add_argument("--layers", default="trainer", help="'trainer' (the blocks Eq. 8 reads), 'all', or indices")
    p.add_argument("--steps", type=int, default=600, help="head updates")
    p.add_argument("--lr-heads", type=float, default=5e-4)
    p.add_argument("--head-norm", default="group,none", help="comma-separated head norms to compare")
    p.add_argument("--batch-size", type=int, default=40, help="feature maps per side and update")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    backbone = load_backbone(args.teacher)
    student = load_backbone(args.student).transformer if args.student else backbone.transformer
    dataset = SynVidDataset(args.data, verify=False)
    m = student_steps(args.student_steps, dataset)
    batches = KeyBatches(dataset, m, "accvideo", 1, 0, holdout=args.holdout)
    n_blocks = len(backbone.feature_blocks(backbone.transformer))
    trainer_reads = TeacherFeatures(backbone.transformer, backbone)  # the blocks Eq. 8 reads in a run
    if args.layers == "all":
        layers = list(range(n_blocks))
    elif args.layers == "trainer":
        layers = sorted({trainer_reads.noisy_layer, trainer_reads.clean_layer})
    else:
        layers = [int(x) for x in args.layers.split(",")]
    pairs = collect(backbone, student, batches, m, layers, batch_size=16)
    report = tuple(sorted({s for s in (25, 100, 300, args.steps) if s <= args.steps}))
    rows = []
    print("| k | sigma | features | read by the trainer | rel. difference | head norm | " +
          " | ".join(f"held-out acc. @ {s}" for s in report) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(report))
    for (k, source), (real, fake) in sorted(pairs.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        per_sample = real.shape[0] // len(dataset)
        sigma = float(batches.sigmas[m - k])
        used = source == trainer_reads.layer_for(sigma)
        diff = float((real - fake).norm() / real.norm())
        name = "raw latent" if source == "latent" else f"teacher block {source} of {n_blocks}"
        for norm in args.head_norm.split(","):
            acc = train_head(real, fake, (len(dataset) - args.holdout) * per_sample, args.steps, args.lr_heads,
                             args.batch_size, report, norm)
            rows.append({"k": k, "sigma": sigma, "features": str(source), "trainer": used, "head_norm": norm,
                         "relative_difference": diff, "accuracy": acc})
            print(f"| {k} | {sigma:.3f} | {name} | {'yes' if used else ''} | {diff:.3f} | {norm} | " +
                  " | ".join(f"{acc[s]:.3f}" for s in report) + " |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"teacher": args.teacher, "data": args.data, "student": args.student, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
