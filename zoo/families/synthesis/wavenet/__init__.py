"""WaveNet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio", arXiv:1609.03499):
a mel- and speaker-conditioned autoregressive vocoder over 8-bit mu-law samples, with fast
incremental generation through per-layer convolution queues (Paine et al. 2016, "Fast Wavenet
Generation Algorithm", arXiv:1611.09482)."""
