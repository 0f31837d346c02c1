"""FastSpeech-style non-autoregressive TTS acoustic model (Ren et al. 2019), convolutional variant."""
