"""training.augment.random_spectral_eq: smooth, bounded per-utterance log-mel gains; adding them to
log-mel rows equals filtering the waveform by that frequency response (checked through the
project's LogMelSpectrogram on white noise)."""

import math

import librosa
import numpy as np
import pytest
import tensorflow as tf

from training.augment import random_spectral_eq
from zoo.errors import ConfigError


def test_gains_are_bounded_smooth_centred_and_drawn_per_row():
    gains = random_spectral_eq(2000, 40, 6.0).numpy()
    assert gains.shape == (2000, 40)
    limit = 6.0 * math.log(10.0) / 10.0  # 6 dB in natural-log power units
    assert np.abs(gains).max() <= limit + 1e-6
    assert np.abs(gains).max() > 0.6 * limit  # the range is used, not a tiny wiggle
    # Three smooth terms over 40 bins: neighbouring bins differ by far less than the range.
    assert np.abs(np.diff(gains, axis=1)).max() < 0.2 * limit
    assert abs(gains.mean()) < 0.02 * limit  # no systematic tilt
    assert np.std(gains[:, 0]) > 0.2 * limit  # each row draws its own curve
    np.testing.assert_array_equal(random_spectral_eq(3, 40, 0.0).numpy(), np.zeros((3, 40), np.float32))


def test_adding_the_gains_to_log_mel_is_filtering_the_waveform():
    from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram

    rate, bins, fmin, fmax = 16000, 40, 20.0, 7600.0
    frontend = LogMelSpectrogram(sample_rate=rate, frame_length=400, frame_step=160, fft_length=512,
                                 num_mel_bins=bins, fmin=fmin, fmax=fmax, log_offset=1e-9)
    tf.random.set_seed(3)
    gain = random_spectral_eq(1, bins, 6.0).numpy()[0]
    noise = np.random.default_rng(0).normal(size=rate * 8)
    # The same response as a filter: the gain at each mel band's centre, linear in between.
    centres = librosa.mel_frequencies(n_mels=bins + 2, fmin=fmin, fmax=fmax)[1:-1]
    freqs = np.fft.rfftfreq(noise.size, 1.0 / rate)
    response = np.exp(0.5 * np.interp(freqs, centres, gain))  # amplitude = sqrt(power gain)
    filtered = np.fft.irfft(np.fft.rfft(noise) * response, n=noise.size)
    plain = frontend(noise[None].astype(np.float32)).numpy()[0].mean(0)
    shaped = frontend(filtered[None].astype(np.float32)).numpy()[0].mean(0)
    # 0.02 in natural-log power is 0.09 dB (measured: 0.004); the curve spans up to +-6 dB (1.38).
    np.testing.assert_allclose(shaped - plain, gain, atol=0.02)


def test_a_negative_amplitude_is_refused():
    with pytest.raises(ConfigError, match="spectral EQ"):
        random_spectral_eq(2, 40, -1.0)
