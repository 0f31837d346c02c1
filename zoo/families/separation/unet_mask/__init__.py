"""Spleeter-style U-Net spectrogram masks for music stems (Jansson et al. 2017; Hennequin et al. 2020)."""
