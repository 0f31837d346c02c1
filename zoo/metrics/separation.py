"""Separation and enhancement metrics: BSS Eval (fast-bss-eval), SI-SDR, PESQ, STOI, oracle masks.

Arrays are numpy, references first: [S, T] or [..., S, T] for separation metrics (one value per
source, ordered by reference), [T] or [..., T] for PESQ and STOI.

fast-bss-eval 0.1.4 is called through its numpy backend (`fast_bss_eval.numpy`): the top-level
`si_sdr` fails without torch installed (it dispatches to a missing torch function), and
`bss_eval_sources(..., compute_permutation=False)` fails in its solver. Without a permutation
the metrics are therefore the diagonal of its pairwise metrics.
"""

from __future__ import annotations

import numpy as np

from zoo.errors import AudioError, ConfigError

PESQ_MODES = {16000: "wb", 8000: "nb"}
MASKS = ("irm", "ibm", "wiener", "psm")


def _pair(reference, estimate, min_rank=2):
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise AudioError("reference and estimate shapes differ", received=f"{ref.shape} vs {est.shape}",
                         expected="equal shapes ([..., sources, time] for separation, [..., time] otherwise)",
                         fix="crop both to the same length and stack sources in the same order")
    if ref.ndim < min_rank or ref.shape[-1] == 0:
        raise AudioError("signals have the wrong rank or are empty", received=f"shape {ref.shape}",
                         expected="[sources, time] or [..., sources, time]" if min_rank == 2 else "[..., time]",
                         fix="add a sources axis (x[None]) for a single source")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise AudioError("signals contain NaN or Inf", received="non-finite samples", expected="finite samples",
                         fix="check the model output")
    return ref, est


def bss_eval(reference, estimate, *, compute_permutation=True, filter_length=512, zero_mean=False,
             clamp_db=None) -> dict:
    """SDR, SIR, SAR (dB; BSS Eval v4 with a `filter_length` distortion filter) and the permutation.

    Returns {"sdr", "sir", "sar": f64[..., S], "perm": i64[..., S]}; perm[i] is the estimate matched
    to reference i (the one maximising SIR), or the identity with compute_permutation=False.
    """
    from fast_bss_eval.numpy import metrics

    ref, est = _pair(reference, estimate)
    if compute_permutation:
        sdr, sir, sar, perm = metrics.bss_eval_sources(ref, est, filter_length=filter_length, zero_mean=zero_mean,
                                                       clamp_db=clamp_db, compute_permutation=True)
    else:
        coh_sdr, coh_sar = metrics.square_cosine_metrics(ref, est, filter_length=filter_length, zero_mean=zero_mean,
                                                         pairwise=True)
        neg = metrics._base_metrics_bss_eval(coh_sdr, coh_sar, clamp_db=clamp_db)
        sdr, sir, sar = (-np.diagonal(m, axis1=-2, axis2=-1) for m in neg)
        perm = np.broadcast_to(np.arange(ref.shape[-2]), sdr.shape)
    return {"sdr": np.asarray(sdr), "sir": np.asarray(sir), "sar": np.asarray(sar), "perm": np.asarray(perm)}


def si_sdr(reference, estimate, *, compute_permutation=True, zero_mean=True, return_perm=False):
    """SI-SDR (dB) f64[..., S] per reference; the best permutation (max total SI-SDR) unless disabled.

    zero_mean defaults to True (the standard SI-SDR; fast-bss-eval's default is False).
    """
    from fast_bss_eval.numpy import scale_invariant

    ref, est = _pair(reference, estimate)
    if compute_permutation:
        values, perm = scale_invariant.si_sdr(ref, est, zero_mean=zero_mean, return_perm=True)
    else:
        if zero_mean:
            ref = ref - ref.mean(axis=-1, keepdims=True)
            est = est - est.mean(axis=-1, keepdims=True)
        alpha = np.sum(ref * est, -1, keepdims=True) / np.sum(ref * ref, -1, keepdims=True)
        target = alpha * ref
        values = 10 * np.log10(np.sum(target**2, -1) / np.sum((est - target) ** 2, -1))
        perm = np.broadcast_to(np.arange(ref.shape[-2]), values.shape)
    return (np.asarray(values), np.asarray(perm)) if return_perm else np.asarray(values)


def si_sdr_improvement(reference, estimate, mixture, *, compute_permutation=True, zero_mean=True):
    """SI-SDRi (dB) f64[..., S]: SI-SDR of the estimate minus that of the mixture, per reference.

    mixture: [..., T] (or [..., S, T]); it is scored against every reference.
    """
    ref, _ = _pair(reference, estimate)
    mix = np.asarray(mixture, dtype=np.float64)
    if mix.shape == ref.shape[:-2] + ref.shape[-1:]:
        mix = np.broadcast_to(mix[..., None, :], ref.shape)
    if mix.shape != ref.shape:
        raise AudioError("mixture shape does not match the references", received=f"{mix.shape} vs {ref.shape}",
                         expected="[..., T] with the references' T", fix="crop the mixture to the sources' length")
    base = si_sdr(ref, mix, compute_permutation=False, zero_mean=zero_mean)
    return si_sdr(ref, estimate, compute_permutation=compute_permutation, zero_mean=zero_mean) - base


def _per_signal(fn, reference, degraded):
    ref, deg = _pair(reference, degraded, min_rank=1)
    flat_ref, flat_deg = ref.reshape(-1, ref.shape[-1]), deg.reshape(-1, deg.shape[-1])
    scores = np.array([fn(r, d) for r, d in zip(flat_ref, flat_deg)], dtype=np.float64)
    return float(scores[0]) if ref.ndim == 1 else scores.reshape(ref.shape[:-1])


def pesq_score(reference, degraded, sample_rate: int):
    """PESQ (ITU-T P.862): wide-band MOS-LQO at 16 kHz, narrow-band at 8 kHz; float or f64[...]."""
    from pesq import PesqError, pesq

    if sample_rate not in PESQ_MODES:
        raise ConfigError("PESQ is defined at 8 kHz (narrow-band) and 16 kHz (wide-band) only",
                          received=f"sample_rate={sample_rate!r}", expected="8000 or 16000",
                          fix="resample both signals first (zoo.audio.resample(x, sr, 16000))")

    def one(r, d):
        if not (np.any(r) and np.any(d)):  # pesq would divide by a zero peak
            raise AudioError("PESQ of a silent signal", received="an all-zero reference or degraded signal",
                             expected="speech in both signals", fix="drop silent clips before scoring")
        try:
            return pesq(sample_rate, r, d, PESQ_MODES[sample_rate])
        except PesqError as e:
            raise AudioError(f"PESQ failed: {type(e).__name__}", received=str(e) or "a signal PESQ cannot score",
                             expected="at least 0.25 s of speech in the reference",
                             fix="score longer clips that contain speech") from None

    return _per_signal(one, reference, degraded)


def stoi_score(reference, degraded, sample_rate: int, *, extended: bool = False):
    """STOI (or extended STOI) in [0, 1]-ish; pystoi resamples to 10 kHz itself. float or f64[...]."""
    from pystoi import stoi

    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
        raise ConfigError("sample_rate must be an int in Hz", received=repr(sample_rate), expected="e.g. 16000",
                          fix="pass the signals' sample rate")
    return _per_signal(lambda r, d: stoi(r, d, int(sample_rate), extended=extended), reference, degraded)


def oracle_masks(sources, mixture=None, *, n_fft=512, hop_length=128, masks=MASKS) -> dict:
    """Oracle separations: each mask of `masks` computed from the true sources, applied to the mixture.

    sources f32[..., S, T]; mixture [..., T] (default: their sum). Where the mixture holds more
    than the sources (noise), the residual mixture - sum(sources) is one more interferer in the
    masks. Masks (STFT with a Hann window, scipy's scaling):
        irm: |S_i| / sum_j |S_j|;  ibm: 1 where S_i is the loudest;  wiener: |S_i|^2 / sum_j |S_j|^2;
        psm: Re(S_i conj(X)) / |X|^2 clipped to [0, 1] (phase-sensitive).
    Returns {mask name: estimates f64[..., S, T]}, ready for si_sdr(sources, estimate).
    """
    from scipy.signal import istft, stft

    src = np.asarray(sources, dtype=np.float64)
    if src.ndim < 2 or src.shape[-1] == 0:
        raise AudioError("sources must be [..., S, T]", received=f"shape {src.shape}", expected="[..., S, T]",
                         fix="stack the sources on axis -2")
    unknown = [m for m in masks if m not in MASKS]
    if unknown:
        raise ConfigError("unknown oracle masks", received=unknown, expected=f"a subset of {list(MASKS)}",
                          fix="pick masks from the expected list")
    total = src.sum(axis=-2)
    mix = total if mixture is None else np.asarray(mixture, dtype=np.float64)
    if mix.shape != total.shape:
        raise AudioError("mixture shape does not match the sources", received=f"{mix.shape} vs {total.shape}",
                         expected="[..., T] with the sources' leading axes and T", fix="crop the mixture")
    length = src.shape[-1]
    kw = {"nperseg": n_fft, "noverlap": n_fft - hop_length, "window": "hann"}
    residual = mix - total
    parts = np.concatenate([src, residual[..., None, :]], axis=-2) if np.any(residual) else src
    _, _, spec = stft(parts, axis=-1, **kw)  # [..., S(+1), F, frames]
    _, _, x = stft(mix, axis=-1, **kw)
    x = x[..., None, :, :]
    mag = np.abs(spec)
    tiny = 1e-12
    out = {}
    for name in masks:
        if name == "irm":
            m = mag / (mag.sum(axis=-3, keepdims=True) + tiny)
        elif name == "wiener":
            m = mag**2 / ((mag**2).sum(axis=-3, keepdims=True) + tiny)
        elif name == "ibm":
            m = (np.argmax(mag, axis=-3)[..., None, :, :] == np.arange(mag.shape[-3])[:, None, None]).astype(float)
        else:
            m = np.clip(np.real(spec * np.conj(x)) / (np.abs(x) ** 2 + tiny), 0.0, 1.0)
        _, est = istft(m[..., : src.shape[-2], :, :] * x, **kw)
        est = est[..., :length]
        out[name] = np.pad(est, [(0, 0)] * (est.ndim - 1) + [(0, length - est.shape[-1])])
    return out
