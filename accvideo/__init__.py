"""AccVideo studio: distil a many-step video diffusion teacher into a few-step student (AccVideo)."""

__version__ = "0.1.0"
