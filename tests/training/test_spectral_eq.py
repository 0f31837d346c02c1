"""training.augment.spectral_eq / spectral_eq_gains: smooth, bounded log-mel gains from given
coefficients (closed forms), applied to valid frames only; adding them to log-mel rows equals
filtering the waveform by that frequency response (checked through the project's LogMelSpectrogram
on white noise)."""

import math

import librosa
import numpy as np
import pytest

from training.augment import spectral_eq, spectral_eq_gains
from zoo.errors import ConfigError

DB = math.log(10.0) / 10.0  # one dB in natural-log power units


def test_gains_follow_the_tilt_and_bumps_in_closed_form():
    x = np.linspace(-1.0, 1.0, 40)
    gains = spectral_eq_gains([[1, 0, 0], [0, 1, 0], [0, 0, -1], [0, 0, 0]], 40, 6.0).numpy()
    np.testing.assert_allclose(gains[0], 2.0 * DB * x, atol=1e-6)  # 6 / 3 dB per term
    np.testing.assert_allclose(gains[1], 2.0 * DB * np.cos(np.pi * x), atol=1e-6)
    np.testing.assert_allclose(gains[2], -2.0 * DB * np.cos(2 * np.pi * x), atol=1e-6)
    np.testing.assert_array_equal(gains[3], np.zeros(40, np.float32))
    # Any coefficients in [-1, 1] stay within the setting; the corners reach it.
    corners = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], np.float32)
    extreme = np.abs(spectral_eq_gains(corners, 40, 6.0).numpy()).max()
    assert 0.9 * 6.0 * DB < extreme <= 6.0 * DB + 1e-6


def test_only_valid_frames_are_filtered():
    features = np.random.default_rng(0).normal(size=(2, 7, 40)).astype(np.float32)
    coefficients = np.array([[1, 0.5, -0.5], [-1, 0, 1]], np.float32)
    out = spectral_eq(features, np.array([7, 3]), coefficients, 6.0).numpy()
    gains = spectral_eq_gains(coefficients, 40, 6.0).numpy()
    np.testing.assert_allclose(out[0], features[0] + gains[0], atol=1e-6)
    np.testing.assert_allclose(out[1, :3], features[1, :3] + gains[1], atol=1e-6)
    np.testing.assert_array_equal(out[1, 3:], features[1, 3:])  # padding untouched


def test_adding_the_gains_to_log_mel_is_filtering_the_waveform():
    from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram

    rate, bins, fmin, fmax = 16000, 40, 20.0, 7600.0
    frontend = LogMelSpectrogram(sample_rate=rate, frame_length=400, frame_step=160, fft_length=512,
                                 num_mel_bins=bins, fmin=fmin, fmax=fmax, log_offset=1e-9)
    gain = spectral_eq_gains([[0.7, -0.9, 0.4]], bins, 6.0).numpy()[0]
    noise = np.random.default_rng(0).normal(size=rate * 8)
    # The same response as a filter: the gain at each mel band's centre, linear in between.
    centres = librosa.mel_frequencies(n_mels=bins + 2, fmin=fmin, fmax=fmax)[1:-1]
    freqs = np.fft.rfftfreq(noise.size, 1.0 / rate)
    response = np.exp(0.5 * np.interp(freqs, centres, gain))  # amplitude = sqrt(power gain)
    filtered = np.fft.irfft(np.fft.rfft(noise) * response, n=noise.size)
    plain = frontend(noise[None].astype(np.float32)).numpy()[0].mean(0)
    shaped = frontend(filtered[None].astype(np.float32)).numpy()[0].mean(0)
    # 0.02 in natural-log power is 0.09 dB (measured: 0.007); this curve reaches 4 dB (0.92).
    np.testing.assert_allclose(shaped - plain, gain, atol=0.02)


def test_a_negative_amplitude_is_refused():
    with pytest.raises(ConfigError, match="spectral EQ"):
        spectral_eq_gains([[0, 0, 0]], 40, -1.0)
