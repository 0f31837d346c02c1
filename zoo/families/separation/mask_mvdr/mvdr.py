"""MVDR beamforming from T-F masks, numpy (per frequency, closed form).

Spectra are frames-first like spectral.py: a multichannel STFT is c[C, T, K]. The weights use
Souden et al.'s (2010) form, which needs no steering vector: w_f = Phi_N^-1 Phi_S u / tr(Phi_N^-1 Phi_S),
u the reference microphone's one-hot; the output Y = w^H X estimates the speech image at u.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import AudioError, ConfigError
from zoo.families.separation.deep_clustering import spectral


def spatial_covariance(spectrum, mask=None) -> np.ndarray:
    """c128[K, C, C]: sum_t m[t,k] x x^H / sum_t m[t,k] of a multichannel STFT c[C, T, K], mask f[T, K]."""
    x = np.asarray(spectrum)
    if x.ndim != 3:
        raise AudioError("multichannel STFT must be [C, T, K]", received=f"shape {x.shape}", expected="[C, T, K]")
    m = np.ones(x.shape[1:]) if mask is None else np.asarray(mask, dtype=np.float64)
    if m.shape != x.shape[1:]:
        raise AudioError("mask shape differs from the STFT's [T, K]", received=f"{m.shape} vs {x.shape[1:]}",
                         expected="[T, K]", fix="average channel masks to one [T, K] mask first")
    phi = np.einsum("tk,ctk,dtk->kcd", m, x, np.conj(x))
    return phi / np.maximum(m.sum(axis=0), 1e-10)[:, None, None]


def souden_mvdr_weights(phi_speech, phi_noise, reference=0, diagonal_loading=1e-2) -> np.ndarray:
    """c128[K, C]: w_k = Phi_N^-1 Phi_S u / tr(Phi_N^-1 Phi_S) per frequency.

    diagonal_loading adds that share of tr(Phi_N)/C to Phi_N's diagonal (keeps it invertible when
    the noise mask is nearly empty in a band).
    """
    ps, pn = np.asarray(phi_speech), np.asarray(phi_noise)
    if ps.shape != pn.shape or ps.ndim != 3 or ps.shape[1] != ps.shape[2]:
        raise AudioError("covariances must both be [K, C, C]", received=f"{ps.shape} and {pn.shape}",
                         expected="equal [K, C, C]")
    c = ps.shape[-1]
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)) or not 0 <= reference < c:
        raise ConfigError("reference microphone out of range", received=repr(reference), expected=f"0..{c - 1}")
    load = diagonal_loading * np.real(np.trace(pn, axis1=1, axis2=2)) / c + 1e-12
    pn = pn + load[:, None, None] * np.eye(c)
    num = np.linalg.solve(pn, ps)  # Phi_N^-1 Phi_S, [K, C, C]
    trace = np.trace(num, axis1=1, axis2=2)
    return num[:, :, reference] / (trace[:, None] + 1e-12)


def apply_beamformer(weights, spectrum) -> np.ndarray:
    """c128[T, K]: Y = w^H X of weights c[K, C] and a multichannel STFT c[C, T, K]."""
    return np.einsum("kc,ctk->tk", np.conj(weights), np.asarray(spectrum))


def mask_mvdr(multichannel, speech_mask, noise_mask, *, n_fft=512, hop=128, reference=0) -> np.ndarray:
    """f64[samples]: the speech at `reference` estimated by MVDR from masks f[T, K] on the STFT of f[C, samples]."""
    x = np.asarray(multichannel, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise AudioError("MVDR needs a multichannel waveform [C, samples] with C >= 2", received=f"shape {x.shape}",
                         expected="[C, samples]", fix="transpose soundfile's [samples, C] output")
    spec = spectral.stft(x, n_fft, hop)
    w = souden_mvdr_weights(spatial_covariance(spec, speech_mask), spatial_covariance(spec, noise_mask), reference)
    return spectral.istft(apply_beamformer(w, spec), x.shape[1], n_fft, hop)
