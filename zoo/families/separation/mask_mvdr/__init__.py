"""Mask-based MVDR beamforming (Heymann, Drude and Haeb-Umbach 2016): network masks -> spatial
covariances -> MVDR (Souden form) on the multichannel STFT."""
