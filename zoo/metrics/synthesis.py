"""Synthesis metrics: mel-cepstral distortion, multi-resolution STFT distance, real-time factor,
and the measures for generated sounds (nearest-neighbour diversity / originality on normalized
log-mel, inception score from a classifier's probabilities).

Arrays are numpy; waveforms are [T] float (references first). Distances between a reference and
an estimate that differ in length (another vocoder, another duration model) are aligned in
time by the metric that needs it (MCD uses DTW), or cropped to the shorter signal (MR-STFT).
"""

from __future__ import annotations

import time

import numpy as np

from zoo.errors import AudioError, ConfigError

# MCD (Kubichek 1993): (10 / ln 10) * sqrt(2 * sum_d (c_d - c'_d)^2) dB per frame over cepstra of
# the natural-log amplitude; 10 / ln 10 turns nepers into dB, the 2 counts the two-sided cepstrum.
MCD_CONSTANT = 10.0 / np.log(10.0) * np.sqrt(2.0)
MCD_DEFAULTS = dict(frame_length=1024, frame_step=256, num_mel_bins=80, num_coefficients=13)
LOG_FLOOR = 1e-10  # floor on mel power before the log (-100 dB): keeps digital silence finite


def _waveform(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise AudioError(f"{name} must be a mono waveform", received=f"shape {x.shape}", expected="[T] with T > 0",
                         fix="pass one channel, e.g. x[0] or x.mean(axis=0)")
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{name} contains NaN or Inf", received="non-finite samples", expected="finite samples",
                         fix="check the model output")
    return x


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int", received=repr(value), expected="int >= 1",
                          fix=f"pass e.g. {name}=16000" if name == "sample_rate" else f"pass e.g. {name}=1")
    return int(value)


def mel_cepstra(waveform, sample_rate: int, *, frame_length: int = 1024, frame_step: int = 256,
                num_mel_bins: int = 80, num_coefficients: int = 13) -> np.ndarray:
    """[frames, num_coefficients] mel cepstra of the natural-log mel *amplitude* (half the log of
    librosa's Slaney mel power spectrogram; centred frames, Hann window).

    The DCT-II is librosa.feature.mfcc's with norm=None, divided by 2 * num_mel_bins: that makes
    c_n the cepstrum of ln A(w) = c_0 + 2 sum_n c_n cos(n w) over the mel axis (c_0 the mean log
    amplitude), the scale MCD's constant assumes. (The orthonormal DCT would inflate MCD by
    sqrt(2 * num_mel_bins).)"""
    import librosa

    x = _waveform(waveform, "waveform")
    sample_rate = _positive_int("sample_rate", sample_rate)
    mel = librosa.feature.melspectrogram(y=x, sr=sample_rate, n_fft=frame_length, hop_length=frame_step,
                                         n_mels=num_mel_bins, power=2.0)
    log_amplitude = 0.5 * np.log(np.maximum(mel, LOG_FLOOR))
    cepstra = librosa.feature.mfcc(S=log_amplitude, n_mfcc=num_coefficients, dct_type=2, norm=None)
    return cepstra.T / (2.0 * num_mel_bins)


def mel_cepstral_distortion(reference, estimate, sample_rate: int, *, include_c0: bool = False, dtw: bool = True,
                            **cepstrum_args) -> float:
    """Mel-cepstral distortion in dB, averaged over DTW-aligned frame pairs.

    Per pair: MCD_CONSTANT * ||c_ref - c_est|| over coefficients 1..num_coefficients-1 (c0, the
    frame energy, is left out unless include_c0, so a gain change costs 0 dB; with it a gain g
    costs MCD_CONSTANT * |ln g|). The frames are
    aligned by librosa.sequence.dtw on the same distance (dtw=False pairs frame i with frame i
    over the shorter length). Cepstra: `mel_cepstra` (frame_length 1024, frame_step 256, 80 mels,
    13 coefficients unless given). Trim leading and trailing silence first: silent frames match
    each other cheaply and dilute the mean.
    """
    import librosa

    args = {**MCD_DEFAULTS, **cepstrum_args}
    c_ref = mel_cepstra(reference, sample_rate, **args)
    c_est = mel_cepstra(estimate, sample_rate, **args)
    if not include_c0:
        c_ref, c_est = c_ref[:, 1:], c_est[:, 1:]
    if dtw:
        _, path = librosa.sequence.dtw(X=c_ref.T, Y=c_est.T, metric="euclidean")
        i, j = path[::-1, 0], path[::-1, 1]
    else:
        i = j = np.arange(min(len(c_ref), len(c_est)))
    return float(MCD_CONSTANT * np.mean(np.linalg.norm(c_ref[i] - c_est[j], axis=1)))


def mr_stft_distance(reference, estimate, *, fft_lengths=(1024, 2048, 512), frame_steps=(120, 240, 50),
                     frame_lengths=(600, 1200, 240)) -> dict:
    """Multi-resolution STFT distance (zoo.losses.MultiResolutionSTFTLoss's math, Parallel WaveGAN's
    three resolutions by default): {"spectral_convergence", "log_magnitude", "total"} floats.

    Signals of different lengths are cropped to the shorter one (no alignment: compare outputs
    that share the reference's timing, e.g. a vocoder fed the reference's mel).
    """
    import tensorflow as tf

    from zoo.losses.stft_loss import MultiResolutionSTFTLoss

    ref, est = _waveform(reference, "reference"), _waveform(estimate, "estimate")
    n = min(len(ref), len(est))
    loss = MultiResolutionSTFTLoss(fft_lengths=list(fft_lengths), frame_steps=list(frame_steps),
                                   frame_lengths=list(frame_lengths))
    sc, mag = loss.components(tf.constant(ref[None, :n], tf.float32), tf.constant(est[None, :n], tf.float32))
    sc, mag = float(sc.numpy()[0]), float(mag.numpy()[0])
    return {"spectral_convergence": sc, "log_magnitude": mag, "total": sc + mag}


def real_time_factor(processing_seconds: float, num_samples: int, sample_rate: int) -> float:
    """Processing time over audio duration (< 1 is faster than real time)."""
    num_samples, sample_rate = _positive_int("num_samples", num_samples), _positive_int("sample_rate", sample_rate)
    if isinstance(processing_seconds, bool) or not np.isfinite(processing_seconds) or processing_seconds < 0:
        raise ConfigError("processing_seconds must be a finite time >= 0", received=repr(processing_seconds),
                          expected="seconds >= 0", fix="pass the measured wall time in seconds")
    return float(processing_seconds) * sample_rate / num_samples


def measure_real_time_factor(fn, num_samples: int, sample_rate: int, *, repeats: int = 5, warmup: int = 1) -> float:
    """Median real-time factor of `fn()` (which makes num_samples samples) over `repeats` timed calls."""
    repeats, warmup = _positive_int("repeats", repeats), int(warmup)
    for _ in range(max(0, warmup)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return real_time_factor(float(np.median(times)), num_samples, sample_rate)


def normalized_log_mel(waveforms, sample_rate: int, *, mean=None, std=None, frame_length: int = 1024,
                       frame_step: int = 256, num_mel_bins: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [N, frames * mels], mean [mels], std [mels]) of equal-length clips [N, T].

    Log-mel (natural log of the Slaney mel power, floor LOG_FLOOR) standardised per mel band
    with `mean`/`std` (computed from these clips when not given: pass the training set's to
    features of generated clips), flattened, as in WaveGAN's nearest-neighbour comparisons.
    """
    import librosa

    x = np.asarray(waveforms, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < frame_length // 2:
        raise AudioError("waveforms must be equal-length clips", received=f"shape {x.shape}",
                         expected=f"[N, T] with T >= {frame_length // 2}", fix="crop or pad the clips to one length")
    mel = librosa.feature.melspectrogram(y=x, sr=_positive_int("sample_rate", sample_rate), n_fft=frame_length,
                                         hop_length=frame_step, n_mels=num_mel_bins, power=2.0)
    log_mel = np.log(np.maximum(mel, LOG_FLOOR))  # [N, mels, frames]
    if mean is None or std is None:
        mean, std = log_mel.mean(axis=(0, 2)), log_mel.std(axis=(0, 2))
    mean, std = np.asarray(mean, np.float64), np.maximum(np.asarray(std, np.float64), 1e-8)
    if mean.shape != (num_mel_bins,) or std.shape != (num_mel_bins,):
        raise ConfigError("mean and std must have one value per mel band", received=f"{mean.shape}, {std.shape}",
                          expected=f"({num_mel_bins},) each", fix="pass the statistics this function returned")
    features = (log_mel - mean[None, :, None]) / std[None, :, None]
    return features.reshape(len(x), -1), mean, std


def _features(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or not np.all(np.isfinite(a)):
        raise ConfigError(f"{name} must be a finite [N, D] feature matrix", received=f"shape {a.shape}",
                          expected="[N, D], e.g. normalized_log_mel(...)[0]", fix="flatten each example's features")
    return a


def _pairwise(a, b):
    from scipy.spatial.distance import cdist

    return cdist(a, b, metric="euclidean")


def nearest_neighbour_diversity(generated) -> float:
    """Mean Euclidean distance from each generated example to its nearest other generated example
    (WaveGAN's |D|_self): low values mean the generator repeats itself."""
    g = _features(generated, "generated")
    if len(g) < 2:
        raise ConfigError("diversity needs at least two generated examples", received=len(g), expected=">= 2",
                          fix="generate more examples")
    d = _pairwise(g, g)
    np.fill_diagonal(d, np.inf)
    return float(d.min(axis=1).mean())


def nearest_neighbour_originality(generated, training) -> float:
    """Mean Euclidean distance from each generated example to its nearest training example
    (WaveGAN's |D|_train): near 0 means the generator copies its training data."""
    g, t = _features(generated, "generated"), _features(training, "training")
    if g.shape[1] != t.shape[1]:
        raise ConfigError("generated and training features differ in size", received=f"{g.shape[1]} vs {t.shape[1]}",
                          expected="equal feature sizes", fix="use equal clip lengths and the same feature settings")
    return float(_pairwise(g, t).min(axis=1).mean())


def inception_score(probabilities, *, num_splits: int = 1) -> tuple[float, float]:
    """(mean, std over splits) of exp(E_x KL(p(y|x) || p(y))) from a classifier's class probabilities
    [N, C] on generated examples (Salimans et al. 2016): 1 for uniform predictions, C for confident
    predictions spread evenly over C classes."""
    p = np.asarray(probabilities, dtype=np.float64)
    num_splits = _positive_int("num_splits", num_splits)
    if p.ndim != 2 or p.shape[0] < num_splits or p.shape[1] < 1:
        raise ConfigError("probabilities must be [N, C] with N >= num_splits", received=f"shape {p.shape}",
                          expected=f"[N >= {num_splits}, C]", fix="pass softmax outputs, one row per example")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ConfigError("rows of probabilities must be distributions", received="negative entries or sums != 1",
                          expected="non-negative rows summing to 1", fix="apply softmax to the classifier's logits")
    scores = []
    for part in np.array_split(p, num_splits):
        marginal = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
