"""Training loops for the miniature's own components: the VAE and the teacher."""
