"""noisereduce's spectral gating (Sainburg 2020), non-stationary mode: the noise floor is tracked
over time per frequency, so no separate noise clip is needed."""

from __future__ import annotations

import numpy as np

from zoo.baselines.common import check_mono, finish


def enhance(noisy, sample_rate, *, stationary: bool = False, prop_decrease: float = 1.0) -> np.ndarray:
    """Denoise f32[T] with noisereduce.reduce_noise (one job, no progress bar); returns f32[T]."""
    import noisereduce

    x, sr = check_mono(noisy, sample_rate)
    y = noisereduce.reduce_noise(y=x, sr=sr, stationary=stationary, prop_decrease=prop_decrease, n_jobs=1,
                                 use_tqdm=False)
    return finish(y, len(x))
