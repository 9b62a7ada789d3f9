"""Captions for Shapes clips: the short canonical form and fine-grained long descriptions."""

from __future__ import annotations

import numpy as np

from accvideo.shapes.spec import ClipSpec, ObjectSpec

CANONICAL_FRACTION = 0.3  # the contract asks for at least 20 %

SIZE_WORDS = {"small": ("small", "tiny", "little"), "large": ("large", "big")}
MOTION_PHRASES = {
    "left": ("moves to the left", "glides leftwards", "slides from right to left", "drifts to the left",
             "travels leftwards across the frame", "moves steadily to the left"),
    "right": ("moves to the right", "glides rightwards", "slides from left to right", "drifts to the right",
              "travels rightwards across the frame", "moves steadily to the right"),
    "up": ("moves upwards", "glides up", "rises from the bottom towards the top", "drifts upwards",
           "travels up the frame", "climbs steadily upwards"),
    "down": ("moves downwards", "glides down", "sinks from the top towards the bottom", "drifts downwards",
             "travels down the frame", "falls steadily downwards"),
    "still": ("stays still", "remains perfectly still", "does not move at all", "stays in place",
              "rests motionless", "holds its position without moving"),
}
OPENINGS = (
    "The video shows", "In this short clip we see", "This animation presents", "A minimal scene featuring",
    "The footage captures", "A simple computer-rendered video of",
)
BACKGROUND_PHRASES = (
    "set against a plain {bg} background", "on a flat, uniform {bg} background",
    "in front of a solid {bg} backdrop", "over an even {bg} background",
)
CAMERA_REMARKS = (
    "The camera is completely static and the framing never changes.",
    "Shot from a fixed, locked-off camera with no zoom or pan.",
    "The camera stays still, looking straight at the scene.",
    "The view is a steady, front-on shot with no camera movement.",
)
LIGHTING_REMARKS = (
    "The lighting is flat and even, with crisp hard edges and no shadows.",
    "Colours are bright and saturated under uniform lighting.",
    "There is no texture, gradient or shading anywhere in the frame.",
    "The rendering is clean and sharp, like a simple vector graphic.",
)
STYLE_REMARKS = (
    "The motion is smooth and happens at a constant speed throughout the clip.",
    "Nothing else appears in the scene, keeping the composition minimal.",
    "The whole clip lasts about two seconds.",
    "The scene has a calm, geometric, almost diagrammatic feel.",
)


def canonical_phrase(obj: ObjectSpec) -> str:
    """`a {size} {colour} {shape} moving {motion}` (`staying still` for still objects)."""
    motion = "staying still" if obj.motion == "still" else f"moving {obj.motion}"
    return f"a {obj.size} {obj.colour} {obj.shape} {motion}"


def canonical_caption(spec: ClipSpec) -> str:
    """The short canonical caption; two objects join with `and`."""
    phrases = " and ".join(canonical_phrase(o) for o in spec.objects)
    return f"{phrases} on a {spec.background} background"


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def fine_caption(spec: ClipSpec, rng: np.random.Generator) -> str:
    """A fine-grained description of 20 to 80 words naming every attribute of every object."""
    parts = []
    for i, obj in enumerate(spec.objects):
        noun = f"{_pick(rng, SIZE_WORDS[obj.size])} {obj.colour} {obj.shape}"
        if i == 0:
            parts.append(f"{_pick(rng, OPENINGS)} a {noun} that {_pick(rng, MOTION_PHRASES[obj.motion])}, "
                         f"{_pick(rng, BACKGROUND_PHRASES).format(bg=spec.background)}.")
        else:
            parts.append(f"Beside it, a second shape, a {noun}, {_pick(rng, MOTION_PHRASES[obj.motion])}.")
    remarks = [_pick(rng, CAMERA_REMARKS), _pick(rng, LIGHTING_REMARKS), _pick(rng, STYLE_REMARKS)]
    n_remarks = int(rng.integers(1, 4))
    text = " ".join(parts + remarks[:n_remarks])
    return text


def caption(spec: ClipSpec, seed: int, style: str | None = None) -> str:
    """A caption for a spec; style 'canonical', 'fine', or None to draw one from the seed."""
    rng = np.random.default_rng([seed, 7])  # its own stream, independent of the spec's draw
    if style is None:
        style = "canonical" if rng.uniform() < CANONICAL_FRACTION else "fine"
    if style == "canonical":
        return canonical_caption(spec)
    if style == "fine":
        return fine_caption(spec, rng)
    raise ValueError(f"unknown caption style {style!r}")
