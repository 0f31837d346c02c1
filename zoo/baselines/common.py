"""Input checks and frame alignment shared by the classical baselines."""

from __future__ import annotations

import numpy as np

from zoo.audio import validate_waveform
from zoo.errors import AudioError


def check_mono(noisy, sample_rate, name: str = "noisy") -> tuple[np.ndarray, int]:
    """(f32[T], int sample rate) or an AudioError / ConfigError that names the problem."""
    x = np.asarray(noisy)
    if x.ndim != 1:
        raise AudioError(f"{name} must be one mono waveform", received=f"shape {x.shape}",
                         expected="shape [T]", fix="pass one channel (x[0] of [C, T], or zoo.audio.to_mono(x))")
    x = validate_waveform(x, sample_rate=sample_rate, max_seconds=None, name=name)
    return x, int(sample_rate)


def check_multichannel(mixture, sample_rate, name: str = "mixture") -> tuple[np.ndarray, int]:
    """(f32[M, T] with M >= 2, int sample rate) or a zoo.errors error."""
    x = np.asarray(mixture)
    if x.ndim != 2 or x.shape[0] < 2:
        raise AudioError(f"{name} must be a multichannel recording", received=f"shape {x.shape}",
                         expected="shape [M, T] with M >= 2 microphones, channels first",
                         fix="stack the microphone signals on axis 0 (transpose soundfile's [T, M])")
    x = validate_waveform(x, sample_rate=sample_rate, max_seconds=None, name=name)
    return x, int(sample_rate)


def run_delayed(process, x: np.ndarray, delay: int) -> np.ndarray:
    """Run a streaming `process` that delays its output by `delay` samples; return it aligned, len(x)."""
    padded = np.concatenate([x, np.zeros(delay, x.dtype)])
    y = np.asarray(process(padded))
    return y[delay : delay + len(x)]


def finish(y, length: int) -> np.ndarray:
    """float32 output of exactly `length` samples (zero-padded if a library returned fewer)."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)[:length]
    return np.pad(y, (0, length - len(y))) if len(y) < length else y
