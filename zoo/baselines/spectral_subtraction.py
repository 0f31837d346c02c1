"""pyroomacoustics' single-channel spectral subtraction (denoise.apply_spectral_sub).

Its streaming STFT (half-overlap Hann) delays the output by one hop; the delay is removed.
"""

from __future__ import annotations

import numpy as np

from zoo.baselines.common import check_mono, finish, run_delayed


def enhance(noisy, sample_rate, *, n_fft: int = 512, db_reduc: float = 25.0, lookback: int = 12,
            beta: float = 30.0, alpha: float = 1.0) -> np.ndarray:
    """Denoise f32[T]: the noise PSD is the minimum over the last `lookback` frames; returns f32[T]."""
    from pyroomacoustics.denoise import apply_spectral_sub

    x, _ = check_mono(noisy, sample_rate)
    y = run_delayed(lambda s: apply_spectral_sub(s.astype(np.float64), nfft=n_fft, db_reduc=db_reduc,
                                                 lookback=lookback, beta=beta, alpha=alpha), x, n_fft // 2)
    return finish(y, len(x))
