"""The studio's model runner: two sides (teacher, student) loaded lazily and once, one generation at a time.

Each side is any model folder `accvideo generate` runs: the shipped miniature, or a Wan2.1 / HunyuanVideo
pipeline folder (or a student distilled from one) through its backbone. Construction reads configs only;
the first request loads the models, sharing the miniature's text encoder, and its VAE when both sides name
the same VAE folder (and the whole generator when both sides are one folder).
When the shipped student is missing (`student="student"` before the distillation stage ships it), the
student side falls back to the teacher at STUDENT_STEPS steps and says so in its title, so the studio
still shows what plain few-step sampling of the teacher gives.
More students may stand beside the first, one per step count m (students distilled with `--student-steps m`):
a request's student steps pick the student trained for that m, and any other count runs the first student.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from accvideo.backbones.base import LoadOptions
from accvideo.backbones.registry import ModelFolder
from accvideo.pipeline import GenerationOutput, SamplingSettings, VideoGenerator
from accvideo.schedules import STUDENT_STEPS
from accvideo.video import write_mp4
from app.limits import MINIATURE_CAPS, REAL_MAX_FRAMES, REAL_MAX_SIDE, Caps, Request, RequestError
from app.trajectory import TrajectoryPanel, key_latents, latent_rmse

MAX_VIDEOS = 256  # mp4s kept in the runner's temp folder; older ones are deleted
MAX_CACHED = 32  # example results kept in memory; the oldest is dropped first
Report = Callable[[float, str], None]  # (fraction done, what is happening) -> None


@dataclass(frozen=True)
class Side:
    """One column of the studio: a model folder, its sampling settings, and whether it stands in for a student."""

    name: str  # "teacher" or "student"
    model: ModelFolder  # the folder, read once
    settings: SamplingSettings  # defaults: steps, guidance, clip size (the folder's own, or the fallback's)
    fallback: bool = False  # the teacher standing in for a missing student

    @property
    def folder(self) -> Path:
        return self.model.path

    @property
    def backbone(self) -> str:
        """The registry name of the backbone that runs the folder (wan-t2v, ...)."""
        return self.model.name

    def title(self, steps: int) -> str:
        """What the column is called, e.g. 'teacher @ 5 steps (no student shipped)', or 'student (distilled for 5
        steps) @ 4 steps' for a student run at a step count it was not distilled for."""
        plural = "step" if steps == 1 else "steps"
        if self.fallback:
            return f"teacher @ {steps} {plural} (no student shipped)"
        if self.settings.kind == "student" and steps != self.settings.steps:  # off the grid it was distilled for
            return f"{self.name} (distilled for {self.settings.steps} steps) @ {steps} {plural}"
        return f"{self.name} @ {steps} {plural}"


def resolve_students(first: Side, more: Sequence[str]) -> dict[int, Side]:
    """Every student by the step count it was distilled for, the first one's first; ValueError when two share an m
    (FileNotFoundError for a missing folder)."""
    students = {first.settings.steps: first}
    for folder in more:
        model = ModelFolder.open(folder)
        m = model.settings.steps
        if m in students:
            raise ValueError(f"two students for {m} steps: {students[m].folder} and {model.path}; give one per m")
        students[m] = Side("student", model, model.settings)
    return students


def resolve_sides(teacher: str, student: str) -> tuple[Side, Side]:
    """Model names or folders -> the two sides; FileNotFoundError for a missing teacher or a missing student PATH."""
    teacher_model = ModelFolder.open(teacher)
    teacher_side = Side("teacher", teacher_model, teacher_model.settings)
    try:
        student_model = ModelFolder.open(student)
    except FileNotFoundError:
        if student != "student":  # an explicit folder that is not there is the user's error
            raise
        settings = replace(teacher_model.settings, steps=STUDENT_STEPS, sigmas=None)
        return teacher_side, replace(teacher_side, name="student", settings=settings, fallback=True)
    return teacher_side, Side("student", student_model, student_model.settings)


@dataclass
class SideResult:
    """One side's clip and its cost."""

    title: str
    frames: np.ndarray  # uint8 (F, H, W, 3)
    steps: int
    nfe: int  # transformer evaluations (CFG counts 2 per step)
    seconds: float  # wall time of the generation (the prompt is encoded beforehand, for both sides alike)
    guidance: float

    def label(self, speedup: float | None = None) -> str:
        """Markdown caption: title, wall time, NFE, CFG, and (student side) the speedup over the teacher."""
        cfg = "no CFG" if self.guidance == 1.0 else f"CFG {self.guidance:g}"
        text = f"**{self.title}** · {self.seconds:.2f} s · {self.nfe} NFE · {cfg}"
        if speedup is not None:
            text += f" · speedup **{speedup:.1f}x** (teacher time / student time)"
        return text


@dataclass
class Comparison:
    """The two sides of one request."""

    teacher: SideResult
    student: SideResult
    cached: bool = False  # served from the example cache: the timings are those of the first run

    @property
    def speedup(self) -> float:
        """Teacher wall time / student wall time."""
        return self.teacher.seconds / max(self.student.seconds, 1e-9)


class StudioRunner:
    """Loads both sides on first use, runs requests one at a time, writes the clips as mp4 to a temp folder."""

    def __init__(self, teacher: str = "teacher", student: str = "student", device: str = "cpu",
                 text_encoder=None, out_dir: str | Path | None = None, options: LoadOptions | None = None,
                 more_students: Sequence[str] = ()):
        self.teacher, self.student = resolve_sides(teacher, student)
        self.students = resolve_students(self.student, more_students)  # by m; the first student is self.student
        if not self.tasks:
            raise ValueError(f"the teacher ({self.teacher.backbone}) and the student ({self.student.backbone}) "
                             "share no task: one takes only text, the other only a first frame")
        first = self.student.model
        for side in self.students.values():
            if side.model.tasks != first.tasks or side.model.backbone.world != first.backbone.world:
                raise ValueError(f"the student {side.folder} ({side.backbone}) is not of the first student's kind "
                                 f"({self.student.backbone}): every student must take the same inputs")
        self.device = device
        self.options = options
        self.load_seconds: float | None = None
        self._text_encoder = text_encoder
        self._generators: tuple[VideoGenerator, VideoGenerator] | None = None
        self._more: dict[int, VideoGenerator] = {}  # the other students' generators, loaded on their first request
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._files_lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="accvideo-studio-") if out_dir is None else None
        self.out_dir = Path(out_dir if out_dir is not None else self._tmp.name)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._cache: dict[tuple, Comparison] = {}

    @property
    def miniature(self) -> bool:
        """Whether both sides are the Shapes world miniature (its caps and its Shapes world examples apply)."""
        return self.teacher.model.backbone.world == self.student.model.backbone.world == "shapes"

    @property
    def tasks(self) -> tuple[str, ...]:
        """What both sides can do: "t2v" and/or "i2v" (Wan2.1 I2V takes only image-to-video, for example)."""
        theirs = [side.model.tasks for side in (self.teacher, self.student)]
        return tuple(task for task in ("t2v", "i2v") if all(task in tasks for tasks in theirs))

    @property
    def caps(self) -> Caps:
        """The largest request served, and a clip-size check that asks both sides' backbones (configs only)."""
        if self.miniature:
            return MINIATURE_CAPS
        return Caps(REAL_MAX_SIDE, REAL_MAX_FRAMES, self.check_geometry)

    def check_geometry(self, height: int, width: int, frames: int) -> None:
        """ValueError unless both sides' VAEs and transformers take this clip size."""
        for side in (self.teacher, self.student):
            side.model.check_geometry(height, width, frames)

    @property
    def loaded(self) -> bool:
        """Whether the models are in memory."""
        return self._generators is not None

    def generators(self, size: tuple[int, int, int] | None = None) -> tuple[VideoGenerator, VideoGenerator]:
        """The (teacher, student) generators, loaded on the first call only, and run once for 1 step at
        `size` (height, width, frames; default: the teacher's), so that one-off costs stay out of the timings."""
        with self._load_lock:
            if self._generators is None:
                t0 = time.perf_counter()
                generators = self._load()
                t = self.teacher.settings
                height, width, frames = size or (t.height, t.width, t.frames)
                image = None if "t2v" in self.tasks else np.zeros((1, height, width, 3), np.uint8)
                for gen in {id(g): g for g in generators}.values():
                    gen(["warm-up"], [0], steps=1, height=height, width=width, frames=frames, images=image)
                self._generators = generators
                self.load_seconds = time.perf_counter() - t0
            return self._generators

    def _load(self) -> tuple[VideoGenerator, VideoGenerator]:
        t = self.teacher
        text_encoder = self._text_encoder if t.model.backbone.shares_parts else None
        teacher = VideoGenerator.from_folder(t.model, self.device, text_encoder=text_encoder, options=self.options)
        return teacher, self._load_student(self.student, teacher)

    def _load_student(self, s: Side, teacher: VideoGenerator) -> VideoGenerator:
        """A student's generator, sharing the teacher's text encoder and VAE where both name the same ones."""
        t = self.teacher
        if s.folder.resolve() == t.folder.resolve():
            return teacher  # same weights: one generator; each call passes its own steps and guidance
        if not (t.model.backbone.shares_parts and s.model.backbone.shares_parts):  # each loads its own, lazily
            return VideoGenerator.from_folder(s.model, self.device, options=self.options)
        same_vae = t.model.vae_dir == s.model.vae_dir
        same_text = t.settings.text_encoder == s.settings.text_encoder
        return VideoGenerator.from_folder(s.model, self.device,
                                          text_encoder=teacher.text_encoder if same_text else None,
                                          vae=teacher.vae if same_vae else None)

    def student_for(self, steps: int) -> Side:
        """The student distilled for this many steps, else the first student (run at `steps`)."""
        return self.students.get(steps, self.student)

    def _student_generator(self, side: Side) -> VideoGenerator:
        """The generator of one of the students, once generators() has loaded the teacher and the first student
        (the others load on their first use)."""
        teacher, first = self.generators()
        if side is self.student:
            return first
        m = side.settings.steps
        with self._load_lock:
            if m not in self._more:
                self._more[m] = self._load_student(side, teacher)
            return self._more[m]

    def _generate(self, gen: VideoGenerator, request: Request, steps: int, guidance: float,
                  trajectory: bool, bars: bool) -> GenerationOutput:
        images = None if request.image is None else request.image[None]  # (1, H, W, 3)
        return gen([request.prompt], [request.seed], steps=steps, guidance=guidance, height=request.height,
                   width=request.width, frames=request.frames, images=images, return_trajectory=trajectory,
                   progress=bars)

    def _both(self, request: Request, report: Report | None,
              trajectory: bool = False) -> tuple[GenerationOutput, GenerationOutput]:
        """Run the teacher, then the student for the request's steps, on one request (the caller holds the run
        lock)."""
        say = report or (lambda fraction, text: None)
        side = self.student_for(request.student_steps)
        if not self.loaded or (side is not self.student and side.settings.steps not in self._more):
            say(0.0, "loading the models (first request only)")
        teacher, _ = self.generators((request.height, request.width, request.frames))
        student = self._student_generator(side)
        encoders = {id(g.backbone if g.text_encoder is None else g.text_encoder): g for g in (teacher, student)}
        for gen in encoders.values():
            gen.encode_text([request.prompt, ""])  # encoded (and cached) up front: both sides' timings exclude it
        bars = report is not None  # tqdm bars, which gr.Progress(track_tqdm=True) shows step by step
        say(0.05, f"teacher: {request.teacher_steps} steps")
        t_out = self._generate(teacher, request, request.teacher_steps, request.guidance, trajectory, bars)
        say(0.9, f"student: {request.student_steps} steps")
        s_out = self._generate(student, request, request.student_steps, side.settings.guidance, trajectory, bars)
        say(1.0, "done")
        return t_out, s_out

    def compare(self, request: Request, report: Report | None = None, cache: bool = False) -> Comparison:
        """Both sides on one request (same prompt, seed and first frame); cache=True memoises by request."""
        with self._run_lock:
            if cache and request.key() in self._cache:
                return replace(self._cache[request.key()], cached=True)
            t_out, s_out = self._both(request, report)
            side = self.student_for(request.student_steps)
            result = Comparison(self._side(self.teacher, t_out, request.guidance),
                                self._side(side, s_out, side.settings.guidance))
            if cache:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[request.key()] = result
            return result

    @staticmethod
    def _side(side: Side, out: GenerationOutput, guidance: float) -> SideResult:
        return SideResult(side.title(out.steps), out.frames[0], out.steps, out.nfe, out.timings.total, guidance)

    def trajectory(self, request: Request, report: Report | None = None) -> TrajectoryPanel:
        """Teacher latents at key_indices(teacher steps, student steps) beside the student's steps, decoded."""
        n, m = request.teacher_steps, request.student_steps
        if m > n:
            raise RequestError(f"the student's steps ({m}) must not exceed the teacher's ({n}): each student step "
                               "spans one or more teacher steps")
        with self._run_lock:
            t_out, s_out = self._both(request, report, trajectory=True)
            teacher, _ = self.generators()
            student = self._student_generator(self.student_for(m))
            t_lat, indices, t_sigmas = key_latents(t_out.trajectory, t_out.sigmas, m)  # (m + 1, C, f, h, w)
            s_lat, _, s_sigmas = key_latents(s_out.trajectory, s_out.sigmas, m)  # all m + 1 of the student's
            return TrajectoryPanel(teacher.decode(t_lat), student.decode(s_lat), indices, t_sigmas, s_sigmas,
                                   latent_rmse(t_lat, s_lat))

    def write_video(self, frames: np.ndarray) -> Path:
        """uint8 (F, H, W, 3) -> a new mp4 in the temp folder (the oldest beyond MAX_VIDEOS are deleted)."""
        with self._files_lock:
            path = write_mp4(self.out_dir / f"{uuid.uuid4().hex}.mp4", np.ascontiguousarray(frames))
            videos = sorted(self.out_dir.glob("[!.]*.mp4"), key=lambda p: p.stat().st_mtime)
            for old in videos[:-MAX_VIDEOS]:
                old.unlink(missing_ok=True)
        return path

    def close(self) -> None:
        """Delete the temp folder (when the runner made it)."""
        if self._tmp is not None:
            self._tmp.cleanup()
