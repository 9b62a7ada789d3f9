"""Model specs of `accvideo eval`: `MODEL@STEPS`, MODEL being teacher, student or a model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accvideo.backbones.registry import ModelFolder

SPEC_SEPARATOR = ","  # between specs in --models
STEPS_SEPARATOR = "@"  # between a model and its number of steps


class SpecError(ValueError):
    """A spec that cannot be evaluated: malformed, an unknown model, fewer than one step, or repeated."""


@dataclass(frozen=True)
class ModelSpec:
    """One model to evaluate at one number of Euler steps."""

    text: str  # as written, e.g. "teacher@50": the key of its results
    model: str  # teacher, student or a folder path, as written
    opened: ModelFolder  # the model folder, read once
    steps: int  # Euler steps, >= 1

    @property
    def folder(self) -> Path:
        """The resolved model folder."""
        return self.opened.path

    @property
    def kind(self) -> str:
        """"teacher" or "student", from the folder's accvideo.json."""
        return self.opened.settings.kind

    @property
    def default_steps(self) -> int:
        """The folder's own number of steps (50 for the shipped teacher)."""
        return self.opened.settings.steps

    @property
    def is_full_teacher(self) -> bool:
        """Whether this is a teacher at (at least) its full step count, like teacher@50: a fidelity reference."""
        return self.kind == "teacher" and self.steps >= self.default_steps


def parse_spec(text: str) -> ModelSpec:
    """Parse and resolve one `MODEL@STEPS`; raises SpecError with a one-line message."""
    model, sep, steps_text = text.strip().rpartition(STEPS_SEPARATOR)
    if not sep or not model or not steps_text:
        raise SpecError(f"model spec {text!r} is not MODEL@STEPS (e.g. teacher@50, student@5, runs/student@5)")
    try:
        steps = int(steps_text)
    except ValueError:
        raise SpecError(f"model spec {text!r}: steps {steps_text!r} is not a whole number") from None
    if steps < 1:
        raise SpecError(f"model spec {text!r}: steps must be at least 1, got {steps}")
    try:
        opened = ModelFolder.open(model)
    except (FileNotFoundError, ValueError) as err:
        raise SpecError(f"model spec {text!r}: {err}") from None
    return ModelSpec(text.strip(), model, opened, steps)


def parse_specs(text: str) -> list[ModelSpec]:
    """Parse a comma-separated list of specs; each must appear once."""
    parts = [p.strip() for p in text.split(SPEC_SEPARATOR)]
    if not any(parts):
        raise SpecError("no model specs: give --models SPEC[,SPEC...], e.g. teacher@50,student@5")
    if not all(parts):
        raise SpecError(f"empty model spec in {text!r}")
    specs = [parse_spec(p) for p in parts]
    seen: set[tuple[Path, int]] = set()
    for spec in specs:
        key = (spec.folder.resolve(), spec.steps)
        if key in seen:
            raise SpecError(f"model spec {spec.text!r} is given twice")
        seen.add(key)
    return specs


def pick_reference(specs: list[ModelSpec], name: str | None = None) -> ModelSpec | None:
    """The spec teacher fidelity is measured against: the one named, else the first full teacher, else None."""
    if name is not None:
        for spec in specs:
            if spec.text == name.strip():
                return spec
        raise SpecError(f"--reference {name!r} is not one of --models")
    return next((s for s in specs if s.is_full_teacher), None)
