"""Inverse STFT (weighted overlap-add) as a Keras layer that converts to TFLite builtins."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp


@keras.saving.register_keras_serializable(package="zoo")
class InverseSTFT(keras.layers.Layer):
    """Spectrogram [B, F, fft_length // 2 + 1, 2] (real, imag) -> waveform [B, (F - 1) * step + frame_length].

    The inverse of STFT(output="complex") with the same arguments: an inverse real DFT as one
    constant matmul (TFLite has no IRFFT builtin), the synthesis window, overlap-add, and division
    by the overlap-added squared window wherever it exceeds float32 tiny, as librosa.istft does.
    The interior (where the squared windows overlap) is reconstructed exactly; the first and last
    samples, which only the window tails cover, are not.

    Args:
        frame_length, frame_step, fft_length, window: as in STFT.
    """

    def __init__(self, frame_length, frame_step, fft_length, window="hann", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.frame_length = _dsp.positive_int(owner, "frame_length", frame_length)
        self.frame_step = _dsp.positive_int(owner, "frame_step", frame_step)
        self.fft_length = _dsp.positive_int(owner, "fft_length", fft_length)
        if self.fft_length < self.frame_length:
            raise ConfigError(
                f"{owner}: fft_length is shorter than frame_length",
                received=f"fft_length={fft_length}, frame_length={frame_length}",
                expected="fft_length >= frame_length",
                fix="use the same arguments as the analysis STFT",
            )
        self.window = window
        self.num_bins = self.fft_length // 2 + 1
        self._window = _dsp.get_window(owner, window, self.frame_length)
        self._basis = self._inverse_basis()

    def _inverse_basis(self) -> np.ndarray:
        """[2 * bins, frame_length]: rows (re_k, im_k) interleaved, synthesis window folded in."""
        n_fft = self.fft_length
        k = np.arange(self.num_bins)[:, None]
        n = np.arange(self.frame_length)[None, :]
        phase = 2.0 * np.pi * ((k * n) % n_fft) / n_fft
        # Hermitian symmetry: every bin but DC (and Nyquist for even sizes) stands for two.
        weight = np.full((self.num_bins, 1), 2.0)
        weight[0] = 1.0
        if n_fft % 2 == 0:
            weight[-1] = 1.0
        w = self._window[None, :]
        basis = np.empty((2 * self.num_bins, self.frame_length))
        basis[0::2] = weight * np.cos(phase) * w / n_fft
        basis[1::2] = -weight * np.sin(phase) * w / n_fft
        return basis.astype(np.float32)

    @property
    def basis(self) -> np.ndarray:
        """The constant [2 * bins, frame_length] inverse-DFT-and-window matrix."""
        return self._basis

    def call(self, inputs, basis=None):
        """`basis`: this layer's `basis` as a tensor made once by a caller that inverts many spectra in
        one graph (Griffin-Lim): each call would otherwise embed its own copy of the constant."""
        _dsp.check_rank(type(self).__name__, inputs.shape, 4, "[batch, frames, bins, 2] (real, imag)")
        x = tf.cast(inputs, tf.float32)
        flat = _dsp.reshape_to(x, [_dsp.dim(x, 0), _dsp.dim(x, 1), 2 * self.num_bins])
        frames = _dsp.matmul_last(flat, self._basis if basis is None else basis)
        signal = _dsp.overlap_add(frames, self.frame_step)
        # Window sum-square for this number of frames (dynamic F: computed in the graph).
        win_sq = tf.constant((self._window ** 2).astype(np.float32))
        ones = tf.ones_like(frames[:1, :, :1])
        norm = _dsp.overlap_add(ones * win_sq, self.frame_step)
        ok = norm > _dsp.TINY
        return tf.where(ok, signal / tf.where(ok, norm, tf.ones_like(norm)), signal)

    def compute_output_shape(self, input_shape):
        owner = type(self).__name__
        _dsp.check_rank(owner, input_shape, 4, "[batch, frames, bins, 2] (real, imag)")
        if input_shape[2] not in (None, self.num_bins) or input_shape[3] not in (None, 2):
            raise _dsp.AudioError(
                f"{owner} got a spectrogram of the wrong size",
                received=f"shape {tuple(input_shape)}",
                expected=f"[batch, frames, {self.num_bins}, 2] for fft_length={self.fft_length}",
                fix="feed STFT(output='complex') with the same fft_length",
            )
        frames = input_shape[1]
        length = None if frames is None else max(0, (frames - 1) * self.frame_step + self.frame_length)
        return (input_shape[0], length)

    def get_config(self):
        config = super().get_config()
        config.update(frame_length=self.frame_length, frame_step=self.frame_step,
                      fft_length=self.fft_length, window=self.window)
        return config
