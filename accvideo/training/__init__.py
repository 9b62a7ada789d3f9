"""Training loops for the miniature's own components: the VAE and the teacher (on the resumable loop of
accvideo.resumable), and the in-run proxy that judges the teacher as it trains."""
