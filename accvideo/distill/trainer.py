"""Algorithm 1, the AccVideo distillation procedure, as an orchestrator over losses, heads, queues.

Per key interval k = m-1 .. 0 (one inner step): sample key latents from SynVid; the student runs once
on [l'_{t'_{k+1}} ; l^gen_{t'_{k+1}} popped from Q_{k+1}] at t'_{k+1}; the first half gives the
trajectory loss (Eq. 6), the second half one Euler step (Eq. 5) to l^gen_{t'_k}, pushed onto Q_k and
judged by H_k on frozen-teacher features (Eq. 7-8). The student is updated with L_traj + lambda L_adv,
then the head H_k with lambda L_adv. With --onpolicy (ours, accvideo.distill.onpolicy) the second half also gets
Eq. 6 toward the teacher's own solution from l^gen_{t'_{k+1}}.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch

from accvideo.backbones import conditioning
from accvideo.distill.config import DistillConfig
from accvideo.distill.data import KeyBatches, RealKeyBatches, read_ids, student_steps
from accvideo.distill.export import gathered_student
from accvideo.distill.adversary import Adversary
from accvideo.distill.pixels import PixelAdversary
from accvideo.distill.losses import trajectory_loss
from accvideo.distill.queues import LatentQueues
from accvideo.distill.real import REAL_FOLDER, RealClips, prepare_real_clips
from accvideo.models.lora import new_student
from accvideo.schedules import TEACHER_STEPS, euler_step
from accvideo.synvid.dataset import SynVidDataset
from accvideo.training.loop import TrainLoop, step_generator
from accvideo.training.state import LossLog, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from accvideo.validation import path_identity

LOG_FIELDS = ["iter", "k", "sigma", "traj", "gen", "disc", "logit_real", "logit_fake", "onpolicy", "dmd", "fake",
              "pixel_gen", "pixel_disc", "pixel_real", "pixel_fake"]
DMD_STREAM = 32452843  # seed offset of the distribution-matching draws (noise levels and noise)
HEAD_FIELDS = ["k", "sigma", "logit_gap", "accuracy", "real_right", "fake_right"]  # heads.csv; its step = iteration
QUEUE_CAPACITY = 64  # entries per latent queue
MAX_LOSS = 1e3  # divergence guard: a trajectory loss above this (or NaN/Inf) stops the run
MAX_RISE = 20.0  # divergence guard: a trajectory loss this many times its first value for k stops it


class DivergenceError(RuntimeError):
    """The losses left the finite range; the last good checkpoint is kept."""


class Distiller:
    """Holds the models and state of one run; `run()` executes Algorithm 1."""

    def __init__(self, cfg: DistillConfig, resume: bool = False):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        from accvideo.backbones.base import LoadOptions
        from accvideo.backbones.registry import ModelFolder

        torch.set_num_threads(cfg.threads)
        self.cfg = cfg
        self.acc = Accelerator(cpu=not torch.cuda.is_available(),
                               kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
        self.out = Path(cfg.out)
        self.teacher = ModelFolder.open(cfg.teacher)
        # the teacher's transformer only (the text encoder loads below when the empty prompt is needed)
        self.backbone = self.teacher.load(self.acc.device, LoadOptions(dtype=cfg.dtype), load_parts=False)
        teacher = self.backbone.transformer
        # the text encoder and VAE, loaded once when --onpolicy or --dmd encode the empty prompt at start-up (then
        # dropped) or --pixel-adv decodes the student's outputs
        parts = cfg.onpolicy or cfg.dmd or cfg.pixel_adv
        encoder = self.teacher.load(self.acc.device, LoadOptions(dtype=cfg.dtype)) if parts else None
        self.dataset, self.m, self.batches = self.key_batches(cfg)
        if cfg.onpolicy and any(k >= self.m for k in cfg.onpolicy_keys):
            raise ValueError(f"onpolicy_keys {list(cfg.onpolicy_keys)} names an interval this run lacks: "
                             f"m = {self.m} has k = 0 .. {self.m - 1}")
        self.sigmas = self.batches.sigmas.float()  # t'_m = 1 ... t'_0 = 0
        torch.manual_seed(cfg.seed)
        student = new_student(teacher, self.backbone.feature_blocks, cfg.lora_rank).train()  # line 1: beta <- theta
        if cfg.init:  # ours: a student to refine instead of the teacher
            student.load_state_dict(self.init_weights(cfg.init))
        if cfg.gradient_checkpointing:
            student.enable_gradient_checkpointing()
        uncond = self.empty_prompt(encoder) if cfg.onpolicy or cfg.dmd else None  # the teacher's CFG side
        self.solver = self.teacher_solver(cfg, uncond) if cfg.onpolicy else None
        self.dmd = self.distribution_matching(cfg, uncond) if cfg.dmd else None
        self.adversary = Adversary(self.acc, self.backbone, self.m, cfg.single_head, cfg.lr_heads, cfg.lambda_adv,
                                   cfg.grad_accum)  # the heads' initial weights: the first draws after the seed
        self.pixels = (PixelAdversary(self.acc, encoder.vae, cfg.lr_heads, cfg.pixel_adv, cfg.grad_accum)
                       if cfg.pixel_adv else None)  # the critic's initial weights: drawn after the heads'
        trainable = [p for p in student.parameters() if p.requires_grad]  # all, or the LoRA adapters
        opt_s = torch.optim.AdamW(trainable, lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
        self.student, self.opt_s = self.acc.prepare(student, opt_s)
        self.queues = LatentQueues(self.m, QUEUE_CAPACITY)  # Algorithm 1, line 3
        self.start_iter, self.elapsed = 0, 0.0
        self.loss_ref: dict[int, float] = {}  # each key interval's first trajectory loss (the divergence guard)
        self.onpolicy_ref: dict[int, float] = {}  # each key interval's first on-policy loss (--traj-norm first)
        self.start(resume)
        self.real = self.real_clips(cfg) if cfg.real_videos else None
        self.adversary.real = self.real if cfg.uses_real else None  # with --pixel-adv the real clips go to the critic
        self.log = LossLog(self.out / f"losses-rank{self.acc.process_index}.csv", LOG_FIELDS,
                           resume_step=self.start_iter * self.m if resume else None)
        self.head_log = (LossLog(self.out / "heads.csv", HEAD_FIELDS, resume_step=self.start_iter if resume else None)
                         if cfg.holdout and self.acc.is_main_process else None)

    def key_batches(self, cfg: DistillConfig) -> tuple[SynVidDataset | None, int, KeyBatches | RealKeyBatches]:
        """(the SynVid, m, its seeded key-latent batches), or for the real-data baseline (None, m, its batches)."""
        if cfg.data_kind == "synvid":
            dataset = SynVidDataset(cfg.data, verify=self.acc.is_main_process)
            m = student_steps(cfg.student_steps, dataset)
            return dataset, m, KeyBatches(dataset, m, cfg.schedule, cfg.batch_size, cfg.seed, self.acc.process_index,
                                          self.acc.num_processes, cfg.holdout,
                                          read_ids(cfg.exclude) if cfg.exclude else frozenset())
        if not self.backbone.teacher_data:
            raise ValueError(f"--data-kind real needs a backbone that trains from teacher-data files, "
                             f"not {self.teacher.name}")
        m, settings = student_steps(cfg.student_steps, None), self.teacher.settings
        return None, m, RealKeyBatches(cfg.data, self.backbone, m, TEACHER_STEPS, settings.shift, settings.guidance,
                                       cfg.batch_size, cfg.seed, self.acc.process_index, self.acc.num_processes)

    def start(self, resume: bool) -> None:
        """Load the checkpoint to resume (refusing a changed setting), or refuse to overwrite one; record the
        run's settings with what each path names (a SynVid's content id, a file's hash, a resolved folder)."""
        cfg, ckpt = self.cfg, self.checkpoint_path()
        identity = {name: path_identity(getattr(cfg, name)) for name in ("data", "exclude", "real_videos", "init")}
        identity["teacher"] = path_identity(str(self.teacher.path))
        if resume:
            saved = self.out / "distill_config.json"
            conflicts = cfg.resume_conflicts(json.loads(saved.read_text()), identity) if saved.is_file() else []
            if conflicts:
                raise ValueError(f"--resume cannot change {', '.join(conflicts)} of the run in {self.out}; "
                                 "start a new --out instead")
            self._load(load_checkpoint(ckpt))
        elif ckpt.exists():
            raise FileExistsError(f"{ckpt} exists: pass --resume to continue it, or choose another --out")
        if self.acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "distill_config.json").write_text(json.dumps({**asdict(cfg), "identity": identity}, indent=2))

    def init_weights(self, folder: str) -> dict:
        """--init: the transformer weights of a model folder of the teacher's architecture (a LoRA student's fused)."""
        from accvideo.backbones.registry import ModelFolder

        def architecture(config: dict) -> dict:
            return {k: v for k, v in config.items() if not k.startswith("_") or k == "_class_name"}

        model = ModelFolder.open(folder)
        if architecture(model.transformer_config()) != architecture(self.teacher.transformer_config()):
            raise ValueError(f"--init {folder} is not of the teacher's architecture ({self.teacher.path})")
        return model.load(self.acc.device, load_parts=False).transformer.float().state_dict()

    @staticmethod
    def empty_prompt(encoder):
        """The empty prompt's text conditioning, encoded by `encoder` (a full teacher backbone)."""
        with torch.no_grad():
            return encoder.encode_text([""])

    def teacher_solver(self, cfg: DistillConfig, uncond):
        """--onpolicy: the teacher's CFG solver on the SynVid's own grid, with the teacher's own CFG scale (as
        distribution_matching's) and empty prompt `uncond`."""
        from accvideo.distill.onpolicy import TeacherSolver
        from accvideo.schedules import flow_sigmas

        settings = self.dataset.settings
        grid = flow_sigmas(settings.teacher_steps, settings.shift)
        return TeacherSolver(self.backbone, self.backbone.transformer, grid, self.teacher.settings.guidance, uncond)

    def real_clips(self, cfg: DistillConfig) -> RealClips:
        """--real-videos: encoded once into OUT/real-clips by the main process, read by every rank."""
        if self.acc.is_main_process:
            prepare_real_clips(cfg, self.teacher, self.out)
        self.acc.wait_for_everyone()
        return RealClips(self.out / REAL_FOLDER, cfg.batch_size, cfg.seed, self.acc.process_index,
                         self.acc.num_processes, cfg.holdout, verify=self.acc.is_main_process)

    def distribution_matching(self, cfg: DistillConfig, uncond):
        """--dmd: the teacher with its own CFG scale (its folder's; empty prompt `uncond`) as the real score, a fake
        score model from the teacher, trained at the student's lr. The scale is the teacher's, not the SynVid's, so
        that a SynVid recorded by another sampler (a student, without CFG) still matches the teacher's samples."""
        from accvideo.distill.dmd import DistributionMatching

        return DistributionMatching(self.backbone, self.teacher.settings.guidance, uncond, cfg.lr)

    def checkpoint_path(self) -> Path:
        return self.out / f"checkpoint-rank{self.acc.process_index}.json"

    def sigma(self, k: int) -> float:
        """t'_k."""
        return float(self.sigmas[self.m - k])

    def _state(self, iteration: int) -> dict:
        return {"student": self.acc.unwrap_model(self.student).state_dict(), **self.adversary.state_dict(),
                "opt_s": self.opt_s.state_dict(), "queues": self.queues.state_dict(), "rng": rng_state(),
                "iter": iteration, "elapsed": self.elapsed, "sigmas": self.sigmas.tolist(),
                "loss_ref": {str(k): v for k, v in self.loss_ref.items()},
                "onpolicy_ref": {str(k): v for k, v in self.onpolicy_ref.items()},
                "dmd": self.dmd.state_dict() if self.dmd is not None else None,
                "pixels": self.pixels.state_dict() if self.pixels is not None else None}

    def _load(self, state: dict) -> None:
        self.acc.unwrap_model(self.student).load_state_dict(state["student"])
        self.adversary.load_state_dict(state)
        self.opt_s.load_state_dict(state["opt_s"])
        self.queues.load_state_dict(state["queues"], self.acc.device)
        set_rng_state(state["rng"])
        self.start_iter, self.elapsed = state["iter"], state["elapsed"]
        self.loss_ref = {int(k): v for k, v in (state.get("loss_ref") or {}).items()}
        self.onpolicy_ref = {int(k): v for k, v in (state.get("onpolicy_ref") or {}).items()}
        if self.dmd is not None:
            self.dmd.load_state_dict(state["dmd"])
        if self.pixels is not None:
            self.pixels.load_state_dict(state["pixels"])

    def _student_pass(self, step: int, k: int) -> tuple[torch.Tensor, dict, tuple | None]:
        """Lines 7-21 on one micro-batch: the student's loss, its logs, and what the heads' update needs."""
        cfg, dev, m = self.cfg, self.acc.device, self.m
        batch = {name: conditioning.to(t, dev) for name, t in self.batches(step, k).items()}  # line 7
        lat, text, cond = batch["latents"], batch["text_states"], batch["condition"]
        l_k1, l_k = lat[:, m - (k + 1)], lat[:, m - k]  # l'_{t'_{k+1}}, l'_{t'_k}
        t_k1, t_k = self.sigma(k + 1), self.sigma(k)
        b = l_k1.shape[0]
        if cfg.uses_adv and k == m - 1:  # lines 11-12: fresh noise enters Q_m
            gen = step_generator(cfg.seed, step, self.acc.process_index)
            self.queues.push(m, torch.randn(l_k1.shape, generator=gen).to(dev), text, cond)
        if cfg.uses_adv:  # line 15
            g_lat, g_text, g_cond = self.queues.pop(k + 1, b)
            x, x_text, x_cond = torch.cat([l_k1, g_lat]), conditioning.cat(text, g_text), conditioning.cat(cond, g_cond)
        else:
            x, x_text, x_cond = l_k1, text, cond
        v = self.backbone.velocity(self.student, x, t_k1, x_text, x_cond)  # s_beta at t'_{k+1}, both halves at once
        logs = {"traj": 0.0, "gen": 0.0, "onpolicy": 0.0, "dmd": 0.0, "pixel_gen": 0.0}
        loss = torch.zeros((), device=dev)
        if cfg.uses_traj:  # lines 9-10, Eq. 6
            l_traj = trajectory_loss(v[:b], l_k, l_k1, torch.tensor([t_k]), torch.tensor([t_k1])).mean()
            logs["traj"] = l_traj.item()
            loss = loss + l_traj * self.traj_weight(k, logs["traj"])
        disc_inputs = None
        if cfg.uses_adv:
            l_gen = euler_step(g_lat, v[b:], t_k1, t_k)  # line 16, Eq. 5: one student step, gradient kept
            self.queues.push(k, l_gen, g_text, g_cond)  # line 17 (stored detached)
            l_g = self.adversary.generator_loss(l_gen, k, t_k, g_text, g_cond)  # lines 20-21, Eq. 7
            loss = loss + cfg.lambda_adv * l_g
            logs["gen"] = l_g.item()
            disc_inputs = (*self.adversary.real_side(step, t_k, (l_k, text, cond)), l_gen.detach(), g_text, g_cond)
            if self.dmd is not None and k == 0:  # the student's clean output against the teacher's distribution
                l_dmd = self.dmd.loss(l_gen, g_text, g_cond, self.dmd_generator(step)).mean()
                loss = loss + cfg.dmd * l_dmd
                logs["dmd"] = l_dmd.item()
            if self.pixels is not None and k == 0 and step >= cfg.pixel_warmup * m * cfg.grad_accum:
                # the student's decoded clean output against real clips, once the critic has had its warm-up
                l_pix = self.pixels.generator_loss(l_gen)
                loss = loss + cfg.pixel_adv * l_pix
                logs["pixel_gen"] = l_pix.item()
        if self.solver is not None and (not cfg.onpolicy_keys or k in cfg.onpolicy_keys):
            # Eq. 6 from the student's own l^gen_{t'_{k+1}} (ours), on every key interval or the chosen ones
            target = self.solver(g_lat, t_k1, t_k, g_text, g_cond)
            l_on = trajectory_loss(v[b:], target, g_lat, torch.tensor([t_k]), torch.tensor([t_k1])).mean()
            logs["onpolicy"] = l_on.item()
            loss = loss + cfg.onpolicy * l_on * self.traj_weight(k, logs["onpolicy"], self.onpolicy_ref)
        return loss, logs, disc_inputs

    def dmd_generator(self, step: int, fake: bool = False) -> torch.Generator:
        """The seeded draws of distribution matching at a step: the student's (fake=False) or f_psi's update."""
        return step_generator(self.cfg.seed + DMD_STREAM * (2 if fake else 1), step, self.acc.process_index)

    def traj_weight(self, k: int, first_value: float, refs: dict[int, float] | None = None) -> float:
        """The weight of key interval k's Eq. 6 loss: 1 (the paper), or with traj_norm "first" (ours) one over the
        interval's first loss (kept in `refs`, the trajectory losses' by default). The intervals share one AdamW,
        whose second moments the early ones' large velocity errors set (the miniature's first losses: about 6, 3,
        1.4, 0.4, 0.2 for k = 4 .. 0), so unweighted the last steps barely move."""
        if self.cfg.traj_norm == "none":
            return 1.0
        refs = self.loss_ref if refs is None else refs
        return 1.0 / max(refs.setdefault(k, first_value), 1e-8)

    def inner_step(self, iteration: int, k: int) -> dict[str, float]:
        """One pass of Algorithm 1's inner loop for key interval k, over cfg.grad_accum micro-batches."""
        cfg = self.cfg
        base = (iteration * self.m + (self.m - 1 - k)) * cfg.grad_accum
        logs: list[dict[str, float]] = []
        pending = []
        for micro in range(cfg.grad_accum):
            loss, micro_logs, disc_inputs = self._student_pass(base + micro, k)
            ref = self.loss_ref.setdefault(k, micro_logs["traj"])
            if (not math.isfinite(loss.item()) or micro_logs["traj"] > MAX_LOSS
                    or (cfg.uses_traj and micro_logs["traj"] > MAX_RISE * max(ref, 1e-8))):
                kept = (f"the last good checkpoint is {self.checkpoint_path()}" if self.checkpoint_path().is_file()
                        else "no checkpoint was written yet")
                raise DivergenceError(f"training diverged: trajectory loss {micro_logs['traj']:.4g} (first "
                                      f"{ref:.4g}) at iteration {iteration}, k={k}; {kept}; try a lower --lr")
            self.acc.backward(loss / cfg.grad_accum)
            logs.append(micro_logs)
            pending.append(disc_inputs)
        self.opt_s.step()
        self.opt_s.zero_grad(set_to_none=True)
        self.adversary.zero_grad()  # the generator pass must not move the heads
        if self.pixels is not None:
            self.pixels.zero_grad()  # nor the critic
        if cfg.uses_adv:
            for micro, disc_inputs in enumerate(pending):
                logs[micro].update(self.adversary.backward(k, self.sigma(k), disc_inputs))  # line 22
                if self.dmd is not None and k == 0:  # f_psi follows the student's clean outputs
                    logs[micro]["fake"] = self.dmd.update_fake(*disc_inputs[3:], self.dmd_generator(base + micro, True))
                if self.pixels is not None and k == 0:  # the critic: real clips against the clean outputs
                    real = self.real(base + micro, 0.0)[0].to(self.acc.device)
                    logs[micro].update(self.pixels.backward(real, disc_inputs[3]))
            self.adversary.step()
            if self.pixels is not None and k == 0:
                self.pixels.step()
        keys = LOG_FIELDS[3:]
        return {key: sum(lg.get(key, 0.0) for lg in logs) / len(logs) for key in keys}

    def run(self, on_step: Callable[[dict[str, float]], None] | None = None) -> Path | None:
        """Train to cfg.iters; export the student at the end.

        `on_step(row)` is called after every inner step with the row the loss log gets (step, iter, k, sigma,
        traj, gen, disc, logit_real, logit_fake), e.g. to draw live loss curves.
        """
        cfg = self.cfg

        def save(iteration: int) -> None:
            self.elapsed = loop.elapsed
            save_checkpoint(self.checkpoint_path(), self._state(iteration))

        loop = TrainLoop(self.start_iter, cfg.iters, save, cfg.checkpoint_every, "distill", elapsed=self.elapsed,
                         disable=not self.acc.is_local_main_process)
        for it in loop:
            for k in range(self.m - 1, -1, -1):  # Algorithm 1, line 5
                row = {"iter": it, "k": k, "sigma": self.sigma(k), **self.inner_step(it, k)}
                step = it * self.m + (self.m - 1 - k) + 1
                self.log.append(step, **row)
                if on_step is not None:
                    on_step({"step": step, **row})
                loop.show(k=k, traj=f"{row['traj']:.4f}", gen=f"{row['gen']:.3f}", disc=f"{row['disc']:.3f}")
            if self.head_log is not None and ((it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iters):
                with loop.untimed():
                    for row in self.evaluate_heads():
                        self.head_log.append(it + 1, **row)
        self.elapsed = loop.elapsed
        self.acc.wait_for_everyone()
        if not loop.finished:
            return None
        model = gathered_student(self.acc, self.student, self.backbone, self.cfg.lora_rank)  # FSDP: all ranks
        return self.export(model) if self.acc.is_main_process else None

    def student_model(self):
        """The weights to ship: the student itself."""
        return self.acc.unwrap_model(self.student)

    def evaluate_heads(self) -> list[dict[str, float]]:
        """Each head's logit gap and held-out accuracy (accvideo.distill.checks)."""
        from accvideo.distill.checks import evaluate_heads

        return evaluate_heads(self)

    def export(self, model=None) -> Path:
        """Write the student (or `model`) as a diffusers folder with its sigmas (runs without CFG)."""
        from accvideo.distill.export import export_student

        info = {"distill_seconds": self.elapsed, "iterations": self.cfg.iters, "config": asdict(self.cfg),
                "data": self.cfg.data, "samples": len(self.dataset) if self.dataset is not None else None,
                "trained_samples": len(self.batches.pool) if self.dataset is not None else None}
        return export_student(model or self.student_model(), self.out / "final", self.teacher,
                              self.sigmas.tolist(), info)


def distill(cfg: DistillConfig, resume: bool = False) -> Path | None:
    """Run Algorithm 1 and export the student; returns its folder (None when stopped early or not rank 0)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return Distiller(cfg, resume).run()
