"""SincNet band-pass filterbank (Ravanelli & Bengio 2018) with learnable cutoff frequencies."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@keras.saving.register_keras_serializable(package="zoo")
class SincConv(keras.layers.Layer):
    """Waveform [B, T] -> band-pass responses [B, 1 + (T - kernel_size) // stride, num_filters].

    Filter i passes [low_i, high_i] with low_i = min_low_hz + |l_i| and
    high_i = clip(low_i + min_band_hz + |b_i|, min_low_hz, sample_rate / 2), where l and b are the
    trainable weights (Hz), initialised to mel-spaced bands between init_low_hz and
    sample_rate / 2 - (min_low_hz + min_band_hz). The kernel is the difference of two windowed sinc
    low-passes, h[n] = (2 f_h sinc(2 pi f_h t_n) - 2 f_l sinc(2 pi f_l t_n)) * hamming[n] / sample_rate,
    i.e. unit pass-band gain (SincNet instead scales the centre tap to 1). The kernel is rebuilt
    from the cutoffs on every call, so gradients reach the cutoffs; the TFLite converter folds it
    into a constant.

    Args:
        num_filters: number of bands. kernel_size: odd filter length in samples.
        sample_rate: Hz. min_low_hz, min_band_hz: lower bounds of the low cutoff and bandwidth.
        stride: hop of the convolution in samples. init_low_hz: lowest initial band edge.
    """

    def __init__(self, num_filters, kernel_size, sample_rate, min_low_hz=50.0, min_band_hz=50.0,
                 stride=1, init_low_hz=30.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_filters = _dsp.positive_int(owner, "num_filters", num_filters)
        self.kernel_size = _dsp.positive_int(owner, "kernel_size", kernel_size, minimum=3)
        if self.kernel_size % 2 == 0:
            raise ConfigError(f"{owner}: kernel_size must be odd (a symmetric linear-phase filter)",
                              received=kernel_size, expected="an odd integer >= 3",
                              fix=f"pass kernel_size={kernel_size + 1}")
        self.sample_rate = _dsp.positive_int(owner, "sample_rate", sample_rate)
        self.min_low_hz = _dsp.positive_float(owner, "min_low_hz", min_low_hz, allow_zero=True)
        self.min_band_hz = _dsp.positive_float(owner, "min_band_hz", min_band_hz)
        self.stride = _dsp.positive_int(owner, "stride", stride)
        self.init_low_hz = _dsp.positive_float(owner, "init_low_hz", init_low_hz, allow_zero=True)
        top = self.sample_rate / 2.0 - (self.min_low_hz + self.min_band_hz)
        if not self.init_low_hz < top:
            raise ConfigError(f"{owner}: no room for the initial bands below Nyquist",
                              received=f"init_low_hz={init_low_hz}, min_low_hz={min_low_hz}, "
                                       f"min_band_hz={min_band_hz}, sample_rate={sample_rate}",
                              expected="init_low_hz < sample_rate / 2 - (min_low_hz + min_band_hz)",
                              fix="lower min_low_hz / min_band_hz or raise the sample rate")
        half = (self.kernel_size - 1) / 2.0
        self._t = ((np.arange(self.kernel_size) - half) / self.sample_rate).astype(np.float32)
        n = np.arange(self.kernel_size)
        self._hamming = (0.54 - 0.46 * np.cos(2 * np.pi * n / (self.kernel_size - 1))).astype(np.float32)

    def initial_edges(self):
        """(low, band) initial weights in Hz: mel-spaced band edges."""
        top = self.sample_rate / 2.0 - (self.min_low_hz + self.min_band_hz)
        edges = _mel_to_hz(np.linspace(_hz_to_mel(self.init_low_hz), _hz_to_mel(top),
                                       self.num_filters + 1))
        return edges[:-1], np.diff(edges)

    def build(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 2, "[batch, time] waveform")
        low, band = self.initial_edges()
        self.low_hz = self.add_weight(name="low_hz", shape=(self.num_filters,),
                                      initializer=_dsp.array_initializer(low))
        self.band_hz = self.add_weight(name="band_hz", shape=(self.num_filters,),
                                       initializer=_dsp.array_initializer(band))

    def cutoffs(self):
        """(low, high) in Hz, each [num_filters]."""
        low = self.min_low_hz + tf.abs(self.low_hz)
        high = tf.clip_by_value(low + self.min_band_hz + tf.abs(self.band_hz), self.min_low_hz,
                                self.sample_rate / 2.0)
        return low, high

    def kernel(self):
        """[kernel_size, num_filters] band-pass impulse responses."""
        low, high = self.cutoffs()
        t = tf.constant(self._t)[:, None]
        centre = tf.constant(self._t == 0)[:, None]

        def lowpass(f):  # 2 f sinc(2 pi f t), with its limit 2 f at t = 0
            x = 2.0 * np.pi * f[None, :] * t
            safe = tf.where(centre, tf.ones_like(x), x)
            return 2.0 * f[None, :] * tf.where(centre, tf.ones_like(x), tf.sin(safe) / safe)

        band = (lowpass(high) - lowpass(low)) * tf.constant(self._hamming)[:, None]
        return band / float(self.sample_rate)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)[:, :, None]
        kernel = self.kernel()[:, None, :]
        return tf.nn.conv1d(x, kernel, stride=self.stride, padding="VALID")

    def compute_output_shape(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 2, "[batch, time] waveform")
        frames = _dsp.num_frames(input_shape[1], self.kernel_size, self.stride)
        return (input_shape[0], frames, self.num_filters)

    def get_config(self):
        config = super().get_config()
        config.update(num_filters=self.num_filters, kernel_size=self.kernel_size,
                      sample_rate=self.sample_rate, min_low_hz=self.min_low_hz,
                      min_band_hz=self.min_band_hz, stride=self.stride, init_low_hz=self.init_low_hz)
        return config
