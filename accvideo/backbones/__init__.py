"""Backbones: the miniature and diffusers' Wan2.1 (T2V, I2V) and HunyuanVideo behind one interface (base.Backbone).

`registry.load_backbone(folder)` picks the backbone from the folder (accvideo.json or model_index.json).
Nothing heavy is imported here.
"""
