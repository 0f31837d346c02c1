"""STFT helpers shared by the deep clustering, deep attractor and mask-MVDR families (numpy/scipy).

One definition everywhere (training features, oracle masks, inference), so a model never sees
features computed another way: Hann window, scipy's scaling, boundary padding (istft inverts
stft exactly). Spectra are laid out frames-first, [..., T, K], as the BLSTMs read them.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import AudioError, ConfigError

LOG_FLOOR = 1e-6  # magnitudes below ~-120 dB of full scale all read as silence


def _check_frames(n_fft, hop):
    for what, value in (("n_fft", n_fft), ("hop", hop)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
            raise ConfigError(f"STFT {what} must be an int >= 2", received=repr(value), expected="e.g. 256 and 64")
    if hop > n_fft:
        raise ConfigError("STFT hop must not exceed n_fft", received=(n_fft, hop), expected="hop <= n_fft",
                          fix="use hop = n_fft // 4")


def stft(waveform, n_fft=256, hop=64) -> np.ndarray:
    """c128[..., T, K] (K = n_fft // 2 + 1) of f[..., samples]."""
    from scipy.signal import stft as _stft

    _check_frames(n_fft, hop)
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] < n_fft:
        raise AudioError("signal shorter than one STFT frame", received=f"shape {x.shape}",
                         expected=f">= {n_fft} samples on the last axis", fix="pad or use longer audio")
    _, _, spec = _stft(x, nperseg=n_fft, noverlap=n_fft - hop, window="hann", axis=-1)
    return np.swapaxes(spec, -1, -2)


def istft(spectrum, length: int, n_fft=256, hop=64) -> np.ndarray:
    """f64[..., length] from c[..., T, K] (zero-padded or cropped to `length`)."""
    from scipy.signal import istft as _istft

    _check_frames(n_fft, hop)
    _, x = _istft(np.swapaxes(np.asarray(spectrum), -1, -2), nperseg=n_fft, noverlap=n_fft - hop, window="hann")
    x = x[..., :length]
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])])


def log_magnitude(spectrum) -> np.ndarray:
    """f32 log(|X| + LOG_FLOOR): the networks' input features."""
    return np.log(np.abs(spectrum) + LOG_FLOOR).astype(np.float32)


def ideal_binary_masks(source_spectra) -> np.ndarray:
    """f32[..., T, K, S] one-hot: 1 for the loudest source of each bin; sources on axis -3 of the input."""
    mag = np.abs(np.asarray(source_spectra))
    s = mag.shape[-3]
    winner = np.argmax(mag, axis=-3)
    return (winner[..., None] == np.arange(s)).astype(np.float32)


def active_bins(spectrum, threshold_db=40.0) -> np.ndarray:
    """f32[..., T, K]: 1 where |X| is within threshold_db of the utterance's loudest bin (Hershey et al.)."""
    mag = np.abs(np.asarray(spectrum))
    peak = mag.max(axis=(-2, -1), keepdims=True)
    return (mag > peak * 10 ** (-threshold_db / 20)).astype(np.float32)
