"""Distillation (Sec. 4.2-4.3, Algorithm 1): trajectory loss, adversarial loss on frozen-teacher features
with per-timestep heads, latent queues, and the trainer that orchestrates them."""
