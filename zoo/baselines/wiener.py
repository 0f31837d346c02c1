"""pyroomacoustics' iterative Wiener filter (Lim and Oppenheim's LPC speech model;
denoise.apply_iterative_wiener). Its streaming STFT delays the output by one hop; removed."""

from __future__ import annotations

import numpy as np

from zoo.baselines.common import check_mono, finish, run_delayed


def enhance(noisy, sample_rate, *, frame_length: int = 512, lpc_order: int = 20, iterations: int = 2,
            alpha: float = 0.8, thresh: float = 0.01) -> np.ndarray:
    """Denoise f32[T]; returns f32[T]. `thresh` is on frame energy, so the input is scaled to unit
    peak inside and scaled back afterwards (the filter is otherwise level-dependent)."""
    from pyroomacoustics.denoise import apply_iterative_wiener

    x, _ = check_mono(noisy, sample_rate)
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return np.zeros_like(x)
    y = run_delayed(lambda s: apply_iterative_wiener(s.astype(np.float64) / peak, frame_len=frame_length,
                                                     lpc_order=lpc_order, iterations=iterations, alpha=alpha,
                                                     thresh=thresh), x, frame_length // 2)
    return finish(np.asarray(y) * peak, len(x))
