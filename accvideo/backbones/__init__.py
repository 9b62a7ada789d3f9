"""Backbones: the miniature and diffusers' Wan2.1 (T2V, I2V) and HunyuanVideo behind one interface (base.Backbone).

`registry.ModelFolder.open(folder)` reads a folder once and picks its backbone (accvideo.json or model_index.json);
its `load()` returns the loaded backbone.
Nothing heavy is imported here.
"""
