"""GriffinLimVocoder: a Keras layer that turns a (log-)mel or magnitude spectrogram into a waveform.

Two steps, both plain TF ops that convert to TFLite builtins:

1. Approximate mel inverse (mel input only). The mel energies are E = P @ M with P = |X|^power
   [frames, bins] and M the constant Slaney filterbank [bins, mels] of zoo.frontends
   (librosa.filters.mel). With fewer mels than bins the system is underdetermined; we take the
   minimum-norm least-squares solution P = E @ pinv(M) (Moore-Penrose pseudo-inverse, one
   constant matmul), clip negatives to 0 and take the power-th root. librosa's mel_to_stft
   solves a non-negative least squares instead, which needs an iterative solver per frame and
   cannot be a constant graph; the pseudo-inverse is its closed-form, graph-friendly
   approximation (it smears energy across the bins a mel band covers).
2. Phase estimation: `num_iterations` rounds of (fast) Griffin-Lim, as librosa.griffinlim with
   init=None: start from zero phase, then iSTFT -> STFT -> keep the phase, with momentum
   `momentum` on the rebuilt spectrum (0 gives the original algorithm). STFT and InverseSTFT
   are zoo.frontends layers (no centering), so the output has (frames - 1) * frame_step +
   frame_length samples, and with frame_length == fft_length the result equals
   librosa.griffinlim(..., center=False, init=None) up to float32 rounding, except in the
   first and last frame_step or so samples: where only window tails overlap, librosa divides by a
   near-zero window sum (outputs of 1e3-1e4 there); we fade those samples out instead (EDGE_FLOOR).

The iterations are unrolled in the graph and share one constant iDFT basis, made once per call
(a SavedModel would otherwise store a 3 MB copy per iteration; TFLite's WHILE would need
dynamic-shape support in every delegate).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp
from zoo.frontends.inverse_stft import InverseSTFT
from zoo.frontends.log_mel_spectrogram import mel_filterbank
from zoo.frontends.stft import STFT

INPUT_SCALES = ("log", "linear")
EDGE_FLOOR = 0.1  # share of the interior squared-window sum below which the output edges are faded


@keras.saving.register_keras_serializable(package="zoo")
class GriffinLimVocoder(keras.layers.Layer):
    """Spectrogram [B, frames, num_mel_bins (or fft_length // 2 + 1)] -> waveform [B, samples].

    Args:
        sample_rate: Hz (for the mel filterbank).
        frame_length, frame_step, fft_length, window: the STFT the spectrogram was made with
            (as zoo.frontends.STFT / LogMelSpectrogram).
        num_mel_bins: mel bands of the input; None means the input is a linear spectrogram with
            fft_length // 2 + 1 bins.
        fmin, fmax: mel band edges (fmax=None: sample_rate / 2), as LogMelSpectrogram.
        input_scale: "log" (natural log of the energies plus log_offset, LogMelSpectrogram's
            output) or "linear" (the energies themselves).
        power: exponent the magnitude was raised to before the mel matrix (2 = power, 1 = magnitude).
        log_offset: the offset added before the log (subtracted again here).
        num_iterations: Griffin-Lim rounds (0 returns the zero-phase reconstruction).
        momentum: fast Griffin-Lim momentum in [0, 1) (librosa's default 0.99; 0 = classic).
        eps: added to |rebuilt| before normalising the phase (librosa's 1e-8).
    """

    def __init__(self, sample_rate=16000, frame_length=800, frame_step=200, fft_length=1024, num_mel_bins=80,
                 fmin=0.0, fmax=None, input_scale="log", power=2.0, log_offset=1e-6, num_iterations=32,
                 momentum=0.99, window="hann", eps=1e-8, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.sample_rate = _dsp.positive_int(owner, "sample_rate", sample_rate)
        self.stft = STFT(frame_length, frame_step, fft_length, window=window, output="complex", name="stft")
        self.istft = InverseSTFT(frame_length, frame_step, fft_length, window=window, name="istft")
        self.frame_length, self.frame_step, self.fft_length = frame_length, frame_step, fft_length
        self.window = window
        self.num_bins = self.stft.num_bins
        if num_mel_bins is not None:
            num_mel_bins = _dsp.positive_int(owner, "num_mel_bins", num_mel_bins)
        self.num_mel_bins = num_mel_bins
        self.fmin = _dsp.positive_float(owner, "fmin", fmin, allow_zero=True)
        self.fmax = None if fmax is None else _dsp.positive_float(owner, "fmax", fmax)
        self.input_scale = _dsp.one_of(owner, "input_scale", input_scale, INPUT_SCALES)
        self.power = _dsp.positive_float(owner, "power", power)
        self.log_offset = _dsp.positive_float(owner, "log_offset", log_offset)
        self.num_iterations = _dsp.positive_int(owner, "num_iterations", num_iterations, minimum=0)
        ok = isinstance(momentum, (int, float)) and not isinstance(momentum, bool) and 0.0 <= momentum < 1.0
        if not ok:
            raise ConfigError(f"{owner}: momentum must be in [0, 1)", received=repr(momentum),
                              expected="a float 0 <= momentum < 1 (0.99 = fast Griffin-Lim, 0 = classic)",
                              fix="pass momentum=0.99")
        self.momentum = float(momentum)
        self.eps = _dsp.positive_float(owner, "eps", eps)
        self._inverse_mel = None
        if num_mel_bins is not None:
            mel = mel_filterbank(owner, self.sample_rate, self.fft_length, num_mel_bins, self.fmin, self.fmax)
            self._inverse_mel = np.linalg.pinv(mel.astype(np.float64)).astype(np.float32)  # [mels, bins]

    @property
    def input_size(self) -> int:
        return self.num_bins if self.num_mel_bins is None else self.num_mel_bins

    @property
    def inverse_mel_matrix(self):
        """The constant [num_mel_bins, bins] pseudo-inverse (None for linear input)."""
        return self._inverse_mel

    def magnitude(self, inputs):
        """The input spectrogram as a linear STFT magnitude [B, frames, bins]."""
        _dsp.check_rank(type(self).__name__, inputs.shape, 3, f"[batch, frames, {self.input_size}] spectrogram")
        x = tf.cast(inputs, tf.float32)
        if self.input_scale == "log":
            x = tf.exp(x) - self.log_offset
        if self._inverse_mel is not None:
            x = _dsp.matmul_last(x, self._inverse_mel)
        x = tf.nn.relu(x)  # the pseudo-inverse and the log offset can go slightly negative
        if self.power == 2.0:
            return tf.sqrt(x)
        return x if self.power == 1.0 else tf.pow(x, 1.0 / self.power)

    def call(self, inputs):
        magnitude = self.magnitude(inputs)
        basis = tf.constant(self.istft.basis)  # one copy of the 3 MB constant for every iteration
        real, imag = magnitude, tf.zeros_like(magnitude)  # zero initial phase (librosa init=None)
        prev_real = prev_imag = None
        beta = self.momentum / (1.0 + self.momentum)
        for _ in range(self.num_iterations):
            waveform = self.istft(tf.stack([real, imag], axis=-1), basis=basis)
            rebuilt_real, rebuilt_imag = self.stft.real_imag(waveform)
            real, imag = rebuilt_real, rebuilt_imag
            if prev_real is not None and beta > 0.0:
                real, imag = real - beta * prev_real, imag - beta * prev_imag
            scale = magnitude / (tf.sqrt(real * real + imag * imag) + self.eps)
            real, imag = real * scale, imag * scale
            prev_real, prev_imag = rebuilt_real, rebuilt_imag
        return self._fade_edges(self.istft(tf.stack([real, imag], axis=-1), basis=basis), real)

    def _fade_edges(self, waveform, spectrum):
        # Only the window tails cover the first and last samples; dividing by their tiny
        # overlap-added squared window (as librosa.istft does) blows them up to thousands. Divide
        # by at least EDGE_FLOOR of the interior value there instead (a short fade in and out).
        win_sq = tf.constant((self.istft._window ** 2).astype(np.float32))
        norm = _dsp.overlap_add(tf.ones_like(spectrum[:1, :, :1]) * win_sq, self.frame_step)
        floor = EDGE_FLOOR * float(self._interior_norm())
        return waveform * (norm / tf.maximum(norm, floor))

    def _interior_norm(self) -> float:
        win_sq = self.istft._window ** 2
        reps = -(-self.frame_length // self.frame_step)
        total = np.zeros(reps * self.frame_step)
        total[:self.frame_length] = win_sq
        return float(total.reshape(reps, self.frame_step).sum(axis=0).min())

    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 3, f"[batch, frames, {self.input_size}] spectrogram")
        if input_shape[2] is not None and input_shape[2] != self.input_size:
            raise _dsp.AudioError(f"{type(self).__name__} got a spectrogram with the wrong number of bins",
                                  received=f"shape {tuple(input_shape)}",
                                  expected=f"[batch, frames, {self.input_size}]",
                                  fix="feed the spectrogram this vocoder's num_mel_bins / fft_length describe")
        frames = input_shape[1]
        length = None if frames is None else max(0, (frames - 1) * self.frame_step + self.frame_length)
        return (input_shape[0], length)

    def get_config(self):
        config = super().get_config()
        config.update(sample_rate=self.sample_rate, frame_length=self.frame_length, frame_step=self.frame_step,
                      fft_length=self.fft_length, num_mel_bins=self.num_mel_bins, fmin=self.fmin, fmax=self.fmax,
                      input_scale=self.input_scale, power=self.power, log_offset=self.log_offset,
                      num_iterations=self.num_iterations, momentum=self.momentum, window=self.window, eps=self.eps)
        return config
