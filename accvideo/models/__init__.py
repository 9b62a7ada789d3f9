"""Model components of the miniature: autoencoder, text encoder, teacher transformer."""
