"""SynVid (Sec. 4.1): the teacher's own denoising trajectories, recorded at the key timesteps, on disk.

sources -> record (Eq. 5 with CFG, key latents kept) -> store (atomic shards + manifest) -> dataset.
"""
