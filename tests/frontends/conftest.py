"""Shared fixtures for the frontend tests: a deterministic test signal and librosa framing helpers."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SAMPLE_RATE = 16000


def make_signal(num_samples=SAMPLE_RATE, sample_rate=SAMPLE_RATE, seed=0):
    """Two tones (one switched on half way), a click and white noise; peak well inside [-1, 1]."""
    t = np.arange(num_samples) / sample_rate
    rng = np.random.default_rng(seed)
    y = (0.3 * np.sin(2 * np.pi * 440.0 * t)
         + 0.2 * np.sin(2 * np.pi * 1234.5 * t) * (t > t[-1] / 2)
         + 0.05 * rng.standard_normal(num_samples))
    y[num_samples // 3: num_samples // 3 + 8] += 0.5
    return y.astype(np.float32)


@pytest.fixture(scope="session")
def sample_rate():
    return SAMPLE_RATE


@pytest.fixture(scope="session")
def signal():
    """[T] float32, 1 s at 16 kHz."""
    return make_signal()


@pytest.fixture(scope="session")
def librosa_pad():
    """Pad a signal so librosa's centred window lines up with our start-aligned frames.

    librosa centres a frame_length window inside n_fft; ours starts the frame at the hop and pads
    at its end, so librosa.stft(center=False) on y padded with (n_fft - L) // 2 zeros in front and
    the rest behind has the same frames and magnitudes.
    """

    def pad(y, frame_length, fft_length):
        front = (fft_length - frame_length) // 2
        return np.pad(np.asarray(y, np.float64), (front, fft_length - frame_length - front))

    return pad
