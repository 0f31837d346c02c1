"""NoteVAE: a convolutional variational autoencoder (Kingma & Welling 2014) over the normalized
log-mel of single instrument notes, for controllable synthesis: sampling from the prior and
morphing timbre by interpolating latents (the survey's VAE-based sound synthesis)."""
