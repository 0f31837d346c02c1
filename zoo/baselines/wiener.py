"""pyroomacoustics' iterative Wiener filter (Lim and Oppenheim's LPC speech model;
denoise.apply_iterative_wiener).

Its voice activity detector compares each frame's energy with an absolute threshold, which no
fixed value suits at every level; the threshold here is set from the recording itself: a
low percentile of the frame energies plus a margin (the quietest frames are taken as noise).
Its streaming STFT delays the output by one hop; the delay is removed.
"""

from __future__ import annotations

import numpy as np

from zoo.baselines.common import check_mono, finish, run_delayed
from zoo.errors import ConfigError


def noise_threshold(x: np.ndarray, frame_length: int, percentile: float, margin_db: float) -> float:
    """Energy (variance) threshold under which a half-overlapping frame counts as noise."""
    hop = frame_length // 2
    starts = range(0, max(len(x) - frame_length, 0) + 1, hop)
    energies = np.array([np.var(x[s : s + frame_length]) for s in starts])
    return float(np.percentile(energies, percentile) * 10 ** (margin_db / 10))


def enhance(noisy, sample_rate, *, frame_length: int = 512, lpc_order: int = 20, iterations: int = 2,
            alpha: float = 0.8, noise_percentile: float = 20.0, noise_margin_db: float = 3.0) -> np.ndarray:
    """Denoise f32[T]; returns f32[T]. Frames whose energy is below the `noise_percentile`-th
    percentile of all frame energies plus `noise_margin_db` update the (white) noise estimate."""
    from pyroomacoustics.denoise import apply_iterative_wiener

    x, _ = check_mono(noisy, sample_rate)
    if not 0.0 <= noise_percentile <= 100.0:
        raise ConfigError("noise_percentile is out of range", received=repr(noise_percentile),
                          expected="a percentile in [0, 100]", fix="e.g. 20: the quietest fifth of frames is noise")
    if not np.any(x):
        return np.zeros_like(x)
    thresh = noise_threshold(x.astype(np.float64), frame_length, noise_percentile, noise_margin_db)
    y = run_delayed(lambda s: apply_iterative_wiener(s.astype(np.float64), frame_len=frame_length,
                                                     lpc_order=lpc_order, iterations=iterations, alpha=alpha,
                                                     thresh=thresh), x, frame_length // 2)
    return finish(y, len(x))
