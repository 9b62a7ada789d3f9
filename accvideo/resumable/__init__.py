"""What every trainer (VAE, teacher, distiller) runs on: the resumable loop (`loop`: seeded steps, clocks,
checkpoints every so often, EMA) and its state on disk (`state`: bit-exact checkpoints, the loss log, the
learning-rate schedules)."""
