"""Free 1-D complex convolution filterbank on the waveform (TD-filterbanks / LEAF style)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp

INITS = ("gabor", "random")
RECTIFY = ("square", "abs")
COMPRESSION = ("log", "none")


def gabor_kernel(num_filters, kernel_size, sample_rate, fmin, fmax):
    """[kernel_size, 2 * num_filters] (real parts | imaginary parts) of complex Gabor filters.

    Centres are Slaney-mel spaced between fmin and fmax (the centres of librosa's mel triangles);
    each Gaussian envelope has the full width at half maximum, in frequency, of its mel triangle
    (half the distance between its neighbours), clipped so that +-3 sigma fits in the kernel.
    Envelopes sum to 1, so the gain at the centre frequency is 1.
    """
    import librosa

    points = librosa.mel_frequencies(n_mels=num_filters + 2, fmin=fmin, fmax=fmax, htk=False)
    centres = points[1:-1]
    fwhm_hz = (points[2:] - points[:-2]) / 2.0
    sigma = np.sqrt(2.0 * np.log(2.0)) / (np.pi * fwhm_hz) * sample_rate  # in samples
    sigma = np.minimum(sigma, (kernel_size - 1) / 6.0)
    t = np.arange(kernel_size) - (kernel_size - 1) / 2.0
    envelope = np.exp(-0.5 * (t[:, None] / sigma[None, :]) ** 2)
    envelope /= envelope.sum(axis=0, keepdims=True)
    phase = 2.0 * np.pi * centres[None, :] * t[:, None] / sample_rate
    return np.concatenate([envelope * np.cos(phase), envelope * np.sin(phase)], axis=1), centres


@keras.saving.register_keras_serializable(package="zoo")
class LearnableFilterbank(keras.layers.Layer):
    """Waveform [B, T] -> filterbank energies [B, 1 + (T - kernel_size) // stride, num_filters].

    A trainable strided convolution with num_filters complex filters (2 * num_filters real
    channels: real parts, then imaginary parts), then the squared modulus re^2 + im^2
    (rectify="square") or the modulus (rectify="abs"), then optionally log(x + log_offset).
    init="gabor" starts from mel-spaced complex Gabor filters (a learnable approximation of a
    mel filterbank, as in Zeghidour et al. 2018 / LEAF); init="random" from Glorot-uniform
    weights drawn with `seed`.

    Args:
        num_filters, kernel_size, stride: filterbank size, filter length, hop (samples).
        sample_rate: Hz; fmin, fmax: band of the Gabor initialisation (fmax=None: Nyquist).
        init: "gabor" | "random". rectify: "square" | "abs". compression: "log" | "none".
        log_offset: added before the log. seed: int seed of the random initialisation.
    """

    def __init__(self, num_filters, kernel_size, stride, sample_rate=16000, fmin=60.0, fmax=None,
                 init="gabor", rectify="square", compression="log", log_offset=1e-6, seed=None,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_filters = _dsp.positive_int(owner, "num_filters", num_filters)
        self.kernel_size = _dsp.positive_int(owner, "kernel_size", kernel_size)
        self.stride = _dsp.positive_int(owner, "stride", stride)
        self.sample_rate = _dsp.positive_int(owner, "sample_rate", sample_rate)
        self.fmin = _dsp.positive_float(owner, "fmin", fmin, allow_zero=True)
        self.fmax = None if fmax is None else _dsp.positive_float(owner, "fmax", fmax)
        top = self.sample_rate / 2.0 if self.fmax is None else self.fmax
        if not self.fmin < top <= self.sample_rate / 2.0:
            raise ConfigError(f"{owner}: band edges out of range",
                              received=f"fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}",
                              expected="0 <= fmin < fmax <= sample_rate / 2",
                              fix="pass fmax=None (Nyquist) or a lower fmin")
        self.init = _dsp.one_of(owner, "init", init, INITS)
        self.rectify = _dsp.one_of(owner, "rectify", rectify, RECTIFY)
        self.compression = _dsp.one_of(owner, "compression", compression, COMPRESSION)
        self.log_offset = _dsp.positive_float(owner, "log_offset", log_offset)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ConfigError(f"{owner}: seed must be an int or None", received=repr(seed),
                              expected="int or None")
        self.seed = None if seed is None else int(seed)

    def initial_kernel(self):
        """[kernel_size, 1, 2 * num_filters] initial weights (and the Gabor centres or None)."""
        if self.init == "gabor":
            top = self.sample_rate / 2.0 if self.fmax is None else self.fmax
            kernel, centres = gabor_kernel(self.num_filters, self.kernel_size, self.sample_rate,
                                           self.fmin, top)
            return kernel[:, None, :].astype(np.float32), centres
        return None, None

    def build(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 2, "[batch, time] waveform")
        kernel, _ = self.initial_kernel()
        if kernel is None:
            initializer = keras.initializers.GlorotUniform(seed=self.seed)
        else:
            initializer = _dsp.array_initializer(kernel)
        self.kernel = self.add_weight(name="kernel",
                                      shape=(self.kernel_size, 1, 2 * self.num_filters),
                                      initializer=initializer)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)[:, :, None]
        y = tf.nn.conv1d(x, tf.convert_to_tensor(self.kernel), stride=self.stride, padding="VALID")
        real, imag = y[..., :self.num_filters], y[..., self.num_filters:]
        out = real * real + imag * imag
        if self.rectify == "abs":
            out = _dsp.safe_sqrt(out)
        if self.compression == "log":
            out = tf.math.log(out + self.log_offset)
        return out

    def compute_output_shape(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 2, "[batch, time] waveform")
        frames = _dsp.num_frames(input_shape[1], self.kernel_size, self.stride)
        return (input_shape[0], frames, self.num_filters)

    def get_config(self):
        config = super().get_config()
        config.update(num_filters=self.num_filters, kernel_size=self.kernel_size,
                      stride=self.stride, sample_rate=self.sample_rate, fmin=self.fmin,
                      fmax=self.fmax, init=self.init, rectify=self.rectify,
                      compression=self.compression, log_offset=self.log_offset, seed=self.seed)
        return config
