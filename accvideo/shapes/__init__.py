"""The Shapes world: a procedural video world that stands in for real videos (shared/spec/shapes-world.md)."""

from accvideo.shapes.captions import canonical_caption, caption
from accvideo.shapes.render import render
from accvideo.shapes.spec import ClipSpec, ObjectSpec, random_spec, split_seeds

__all__ = ["ClipSpec", "ObjectSpec", "canonical_caption", "caption", "random_spec", "render", "split_seeds"]
