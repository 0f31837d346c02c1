"""Blind source separation of microphone-array recordings: AuxIVA and ILRMA (pyroomacoustics.bss).

Both run on the multichannel STFT (scipy, Hann window) and scale their outputs by projection back
onto microphone 0, so an estimate is comparable with a source's image at microphone 0. Neither
knows which output is which source: `match_sources` picks the outputs (and their order) that
best fit the references with the SI-SDR permutation search of zoo.metrics.separation.
"""

from __future__ import annotations

import itertools

import numpy as np

from zoo.baselines.common import check_multichannel
from zoo.errors import AudioError, ConfigError

METHODS = ("auxiva", "ilrma")


def _int_option(value, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        raise ConfigError(f"{name} is out of range", received=repr(value),
                          expected=f"an int in [{low}, {high if high is not None else 'inf'}]",
                          fix=f"pass a valid {name}")
    return int(value)


def separate(mixture, sample_rate, *, method: str = "auxiva", n_src: int | None = None, n_fft: int = 1024,
             hop_length: int | None = None, n_iter: int = 30, n_components: int = 2,
             model: str = "laplace", seed: int = 0) -> np.ndarray:
    """Separate f32[M, T] (channels first) into f32[n_src, T] with AuxIVA or ILRMA.

    n_src defaults to M (determined); fewer (>= 1) uses OverIVA for AuxIVA. n_fft should be near
    the room's reverberation time. n_components and model apply to ILRMA and AuxIVA respectively.
    ILRMA draws its NMF initialisation from numpy's global generator: it is seeded with `seed` for
    the call and the caller's global state is restored afterwards.
    """
    import pyroomacoustics as pra
    from scipy.signal import istft, stft

    x, sr = check_multichannel(mixture, sample_rate)
    if method not in METHODS:
        raise ConfigError("unknown BSS method", received=repr(method), expected=f"one of {list(METHODS)}",
                          fix="pass method='auxiva' or method='ilrma'")
    channels, length = x.shape
    n_src = channels if n_src is None else _int_option(n_src, "n_src", 1, channels)
    if method == "ilrma" and n_src != channels:
        raise ConfigError("ILRMA here is determined only", received=f"n_src={n_src} with {channels} channels",
                          expected=f"n_src={channels} (or None)", fix="use method='auxiva' for n_src < channels")
    n_fft = _int_option(n_fft, "n_fft", 16)
    hop = n_fft // 4 if hop_length is None else _int_option(hop_length, "hop_length", 1, n_fft)
    n_iter = _int_option(n_iter, "n_iter", 1)
    if length < n_fft:
        raise AudioError("mixture is shorter than one STFT frame", received=f"{length} samples",
                         expected=f"at least n_fft={n_fft} samples (several seconds for good separation)",
                         fix="pass a longer recording or a smaller n_fft")
    kw = {"fs": sr, "window": "hann", "nperseg": n_fft, "noverlap": n_fft - hop}
    _, _, spec = stft(x.astype(np.float64), **kw)  # [M, F, frames]
    X = np.ascontiguousarray(spec.transpose(2, 1, 0))  # pyroomacoustics wants [frames, F, M]
    if method == "auxiva":
        Y = pra.bss.auxiva(X, n_src=n_src, n_iter=n_iter, proj_back=True, model=model)
    else:
        n_components = _int_option(n_components, "n_components", 1)
        saved = np.random.get_state()
        np.random.seed(_int_option(seed, "seed", 0))
        try:
            Y = pra.bss.ilrma(X, n_src=n_src, n_iter=n_iter, proj_back=True, n_components=n_components)
        finally:
            np.random.set_state(saved)
    _, y = istft(Y.transpose(2, 1, 0), **kw)  # [n_src, T']
    y = y[:, :length]
    y = np.pad(y, ((0, 0), (0, length - y.shape[1])))
    return np.nan_to_num(y).astype(np.float32)


def match_sources(references, estimates) -> tuple[np.ndarray, np.ndarray]:
    """(estimates f32[S, T] ordered like the references, chosen indices i64[S]).

    Of K >= S estimates, every set of S is scored with the SI-SDR permutation search
    (zoo.metrics.separation.si_sdr); the set and order with the highest mean SI-SDR wins.
    """
    from zoo.metrics.separation import si_sdr

    ref, est = np.asarray(references, np.float64), np.asarray(estimates, np.float64)
    if ref.ndim != 2 or est.ndim != 2 or ref.shape[1] != est.shape[1] or est.shape[0] < ref.shape[0]:
        raise AudioError("references and estimates do not match", received=f"{ref.shape} vs {est.shape}",
                         expected="[S, T] references and [K, T] estimates with K >= S",
                         fix="separate into at least as many outputs as there are sources")
    best, best_score = None, -np.inf
    for subset in itertools.combinations(range(est.shape[0]), ref.shape[0]):
        values, perm = si_sdr(ref, est[list(subset)], return_perm=True)
        if np.mean(values) > best_score:
            best_score, best = float(np.mean(values)), np.asarray(subset)[np.asarray(perm)]
    return est[best].astype(np.float32), best
