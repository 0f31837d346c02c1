"""Short-time Fourier transform as a Keras layer that converts to TFLite builtins."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp

OUTPUTS = ("magnitude", "power", "complex")
DFT_METHODS = ("auto", "rfft", "matmul")


def _is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


@keras.saving.register_keras_serializable(package="zoo")
class STFT(keras.layers.Layer):
    """Waveform [B, T] -> spectrogram [B, F, fft_length // 2 + 1] (or [B, F, bins, 2] for "complex").

    Frames follow tf.signal.frame(pad_end=False): F = 1 + (T - frame_length) // frame_step, no
    centering; a frame shorter than fft_length is zero-padded at its end (TF convention). librosa
    instead centres the window inside n_fft, so magnitudes equal librosa.stft(center=False) on the
    signal padded with (fft_length - frame_length) // 2 zeros in front (and the rest behind).

    Args:
        frame_length: window length in samples.
        frame_step: hop in samples.
        fft_length: DFT size (>= frame_length); bins = fft_length // 2 + 1.
        window: scipy/librosa window name, periodic ("hann" is librosa's window="hann"), or None.
        output: "magnitude" |X|, "power" |X|^2, or "complex" (real, imag) stacked on a last axis,
            since TFLite has no complex tensors.
        dft_method: "rfft" (tf.signal.rfft -> TFLite RFFT2D, which needs a power-of-two size),
            "matmul" (constant cos/sin basis, any size), or "auto" (rfft for powers of two).
    """

    def __init__(self, frame_length, frame_step, fft_length, window="hann", output="magnitude",
                 dft_method="auto", **kwargs):
        kwargs.setdefault("dtype", "float32")  # spectra stay float32 under mixed precision
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
                fix="raise fft_length (e.g. the next power of two) or shorten frame_length",
            )
        self.window = window
        self.output_type = _dsp.one_of(owner, "output", output, OUTPUTS)
        self.dft_method = _dsp.one_of(owner, "dft_method", dft_method, DFT_METHODS)
        if self.dft_method == "rfft" and not _is_power_of_two(self.fft_length):
            raise ConfigError(
                f"{owner}: dft_method='rfft' needs a power-of-two fft_length (TFLite RFFT2D)",
                received=f"fft_length={fft_length}",
                expected="a power of two, or dft_method='matmul'",
                fix="pass dft_method='auto' or 'matmul'",
            )
        self.num_bins = self.fft_length // 2 + 1
        self._window = _dsp.get_window(owner, window, self.frame_length)
        self._use_rfft = self.dft_method == "rfft" or (
            self.dft_method == "auto" and _is_power_of_two(self.fft_length))
        self._basis = None if self._use_rfft else self._dft_basis()
        # Export-time schedule, not config: at most this many frames per piece when a static-length
        # input is transformed piece by piece (export.tflite.frame_chunking); None = all at once.
        self.frames_per_chunk = None

    def _dft_basis(self) -> np.ndarray:
        """[frame_length, 2 * bins]: windowed cos | -sin; zero-padding rows beyond frame_length vanish."""
        n = np.arange(self.frame_length)[:, None]
        k = np.arange(self.num_bins)[None, :]
        phase = 2.0 * np.pi * ((n * k) % self.fft_length) / self.fft_length
        w = self._window[:, None]
        return np.concatenate([w * np.cos(phase), -w * np.sin(phase)], axis=1).astype(np.float32)

    def real_imag(self, waveform):
        """(real, imag), each [B, F, bins] float32."""
        x = tf.cast(waveform, tf.float32)
        frames = _dsp.frame(x, self.frame_length, self.frame_step)
        if self._use_rfft:
            win = _dsp.constant(self._window)
            spec = tf.signal.rfft(frames * win, fft_length=[self.fft_length])
            return tf.math.real(spec), tf.math.imag(spec)
        both = _dsp.matmul_last(frames, self._basis)
        return both[..., :self.num_bins], both[..., self.num_bins:]

    def call(self, inputs):
        _dsp.check_rank(type(self).__name__, inputs.shape, 2, "[batch, time] waveform")
        return _dsp.over_frame_chunks(inputs, self.frame_length, self.frame_step, self.frames_per_chunk,
                                      self._spectrum)

    def _spectrum(self, inputs):
        real, imag = self.real_imag(inputs)
        if self.output_type == "complex":
            return tf.stack([real, imag], axis=-1)
        power = real * real + imag * imag
        return power if self.output_type == "power" else _dsp.safe_sqrt(power)

    def compute_output_shape(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 2, "[batch, time] waveform")
        frames = _dsp.num_frames(input_shape[1], self.frame_length, self.frame_step)
        if self.output_type == "complex":
            return (input_shape[0], frames, self.num_bins, 2)
        return (input_shape[0], frames, self.num_bins)

    def get_config(self):
        config = super().get_config()
        config.update(frame_length=self.frame_length, frame_step=self.frame_step,
                      fft_length=self.fft_length, window=self.window, output=self.output_type,
                      dft_method=self.dft_method)
        return config
