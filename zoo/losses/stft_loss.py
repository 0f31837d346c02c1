"""Spectral losses on waveforms: multi-resolution STFT loss and magnitude / phase-sensitive spectral MSE.

Both take waveforms f32[..., T] (the last axis is time) and return one value per leading index,
so they work per example, per source, or inside PermutationInvariantLoss. STFTs are
tf.signal.stft with pad_end=True (a signal shorter than a frame still gets one frame).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError

WINDOWS = {"hann": tf.signal.hann_window, "hamming": tf.signal.hamming_window}
SPECTRAL_MODES = ("magnitude", "phase_sensitive", "complex")


def _positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{owner}: {name} must be a positive int", received=repr(value), expected="int >= 1",
                          fix=f"pass e.g. {name}=512")
    return value


def _positive_float(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{owner}: {name} must be a positive number", received=repr(value), expected="float > 0",
                          fix=f"pass e.g. {name}=1e-7")
    return float(value)


def _window(owner, window):
    if window not in WINDOWS:
        raise ConfigError(f"{owner}: unknown window", received=repr(window), expected=f"one of {sorted(WINDOWS)}",
                          fix='pass window="hann"')
    return window


def _stft(x, frame_length, frame_step, fft_length, window):
    return tf.signal.stft(tf.cast(x, tf.float32), frame_length, frame_step, fft_length, window_fn=WINDOWS[window],
                          pad_end=True)


def _magnitude(spec, eps):
    # sqrt of a floored power: finite gradient where the spectrum is zero.
    return tf.sqrt(tf.maximum(tf.square(tf.math.real(spec)) + tf.square(tf.math.imag(spec)), eps))


@keras.saving.register_keras_serializable(package="zoo")
class MultiResolutionSTFTLoss(keras.losses.Loss):
    """Spectral convergence + log-magnitude L1, averaged over STFT resolutions (Parallel WaveGAN).

    Per resolution: SC = ||M_t - M_p||_F / ||M_t||_F and MAG = mean |log M_t - log M_p| over
    frames and bins; the loss is factor_sc * mean(SC) + factor_mag * mean(MAG). Defaults are
    Parallel WaveGAN's three resolutions (FFT 1024/2048/512, hop 120/240/50, window 600/1200/240).
    """

    def __init__(self, fft_lengths=(1024, 2048, 512), frame_steps=(120, 240, 50), frame_lengths=(600, 1200, 240),
                 window="hann", factor_sc=1.0, factor_mag=1.0, eps=1e-7, reduction="sum_over_batch_size",
                 name="multi_resolution_stft_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        owner = type(self).__name__
        lists = {"fft_lengths": fft_lengths, "frame_steps": frame_steps, "frame_lengths": frame_lengths}
        for key, value in lists.items():
            if not isinstance(value, (list, tuple)) or not value:
                raise ConfigError(f"{owner}: {key} must be a non-empty list", received=repr(value),
                                  expected="a list of ints, one per resolution", fix=f"pass e.g. {key}=[512, 1024]")
            for v in value:
                _positive_int(owner, key, v)
        if not len(fft_lengths) == len(frame_steps) == len(frame_lengths):
            raise ConfigError(f"{owner}: one fft_length, frame_step and frame_length per resolution",
                              received={k: len(v) for k, v in lists.items()}, expected="three lists of equal length",
                              fix="give the same number of entries in each list")
        bad = [(f, w) for f, w in zip(fft_lengths, frame_lengths) if w > f]
        if bad:
            raise ConfigError(f"{owner}: frame_length exceeds fft_length", received=bad,
                              expected="frame_length <= fft_length", fix="raise fft_length or shorten the window")
        self.fft_lengths = [int(v) for v in fft_lengths]
        self.frame_steps = [int(v) for v in frame_steps]
        self.frame_lengths = [int(v) for v in frame_lengths]
        self.window = _window(owner, window)
        self.factor_sc = float(factor_sc)
        self.factor_mag = float(factor_mag)
        self.eps = _positive_float(owner, "eps", eps)

    def components(self, y_true, y_pred):
        """(spectral convergence, log-magnitude) f32[...] each, averaged over the resolutions."""
        sc, mag = [], []
        for fft, hop, win in zip(self.fft_lengths, self.frame_steps, self.frame_lengths):
            m_t = _magnitude(_stft(y_true, win, hop, fft, self.window), self.eps)
            m_p = _magnitude(_stft(y_pred, win, hop, fft, self.window), self.eps)
            num = tf.sqrt(tf.reduce_sum(tf.square(m_t - m_p), axis=[-2, -1]))
            sc.append(num / tf.sqrt(tf.reduce_sum(tf.square(m_t), axis=[-2, -1]) + self.eps))
            mag.append(tf.reduce_mean(tf.abs(tf.math.log(m_t) - tf.math.log(m_p)), axis=[-2, -1]))
        return tf.add_n(sc) / len(sc), tf.add_n(mag) / len(mag)

    def call(self, y_true, y_pred):
        sc, mag = self.components(y_true, y_pred)
        return self.factor_sc * sc + self.factor_mag * mag

    def get_config(self):
        config = super().get_config()
        config.update({"fft_lengths": self.fft_lengths, "frame_steps": self.frame_steps,
                       "frame_lengths": self.frame_lengths, "window": self.window, "factor_sc": self.factor_sc,
                       "factor_mag": self.factor_mag, "eps": self.eps})
        return config


@keras.saving.register_keras_serializable(package="zoo")
class SpectralMSE(keras.losses.Loss):
    """Mean squared error between STFTs of a target and an estimate waveform.

    mode:
        "magnitude": (|Y| - |S|)^2.
        "phase_sensitive": (|Y| - |S| cos(angle S - angle Y))^2 (Erdogan et al. 2015), with Y the
            estimate; for a masking model Y = M X carries the mixture's phase, which gives the
            phase-sensitive approximation. Equals the complex error minus its part orthogonal to Y.
        "complex": |Y - S|^2.
    """

    def __init__(self, frame_length=512, frame_step=128, fft_length=512, window="hann", mode="magnitude", eps=1e-8,
                 reduction="sum_over_batch_size", name="spectral_mse", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        owner = type(self).__name__
        self.frame_length = _positive_int(owner, "frame_length", frame_length)
        self.frame_step = _positive_int(owner, "frame_step", frame_step)
        self.fft_length = _positive_int(owner, "fft_length", fft_length)
        if self.fft_length < self.frame_length:
            raise ConfigError(f"{owner}: fft_length is shorter than frame_length",
                              received=f"fft_length={fft_length}, frame_length={frame_length}",
                              expected="fft_length >= frame_length", fix="raise fft_length")
        self.window = _window(owner, window)
        if mode not in SPECTRAL_MODES:
            raise ConfigError(f"{owner}: unknown mode", received=repr(mode), expected=f"one of {list(SPECTRAL_MODES)}",
                              fix='pass mode="magnitude"')
        self.mode = mode
        self.eps = _positive_float(owner, "eps", eps)

    def call(self, y_true, y_pred):
        s = _stft(y_true, self.frame_length, self.frame_step, self.fft_length, self.window)
        y = _stft(y_pred, self.frame_length, self.frame_step, self.fft_length, self.window)
        if self.mode == "complex":
            err = tf.square(tf.math.real(y) - tf.math.real(s)) + tf.square(tf.math.imag(y) - tf.math.imag(s))
        else:
            mag_y = _magnitude(y, self.eps)
            if self.mode == "magnitude":
                target = _magnitude(s, self.eps)
            else:  # |S| cos(dphi) = Re(S conj(Y)) / |Y|, without the unstable angle gradients
                target = (tf.math.real(s) * tf.math.real(y) + tf.math.imag(s) * tf.math.imag(y)) / mag_y
            err = tf.square(mag_y - target)
        return tf.reduce_mean(err, axis=[-2, -1])

    def get_config(self):
        config = super().get_config()
        config.update({"frame_length": self.frame_length, "frame_step": self.frame_step,
                       "fft_length": self.fft_length, "window": self.window, "mode": self.mode, "eps": self.eps})
        return config
