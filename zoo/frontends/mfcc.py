"""MFCC: orthonormal DCT-II of the log-mel spectrogram as one constant matmul."""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ConfigError
from zoo.frontends import _dsp
from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram

DB_PER_NEPER = 10.0 / np.log(10.0)  # 10 * log10(x) == DB_PER_NEPER * ln(x)


def dct_ii_matrix(num_inputs: int, num_outputs: int) -> np.ndarray:
    """[num_inputs, num_outputs] so that x @ D == scipy.fft.dct(x, type=2, norm="ortho")[..., :num_outputs]."""
    n = np.arange(num_inputs)[:, None]
    k = np.arange(num_outputs)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * num_inputs)) * np.sqrt(2.0 / num_inputs)
    basis[:, 0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


@keras.saving.register_keras_serializable(package="zoo")
class MFCC(keras.layers.Layer):
    """Waveform [B, T] -> MFCC [B, F, num_coefficients].

    DCT-II (norm="ortho", librosa's dct_type=2) of LogMelSpectrogram's natural-log mel energies,
    as a constant matmul (TFLite has no DCT builtin). Scale: librosa.feature.mfcc(y=...) takes the
    DCT of power_to_db = 10 * log10(max(S, amin)), which is 10 / ln(10) ~ 4.343 times our natural
    log (with log_offset ~ amin and no top_db clipping). Pass db_scale=True to multiply by that
    factor and get librosa's scale; librosa.feature.mfcc(S=our_log_mel) equals the default output.

    Args:
        sample_rate, frame_length, frame_step, fft_length, num_mel_bins, fmin, fmax, log_offset,
            window, dft_method: as in LogMelSpectrogram (power 2).
        num_coefficients: number of cepstral coefficients kept (<= num_mel_bins).
        db_scale: express the log-mel in dB (10 log10) before the DCT, like librosa.
    """

    def __init__(self, sample_rate, frame_length, frame_step, fft_length, num_mel_bins, fmin, fmax,
                 num_coefficients, log_offset=1e-6, db_scale=False, window="hann", dft_method="auto",
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.log_mel = LogMelSpectrogram(sample_rate, frame_length, frame_step, fft_length,
                                         num_mel_bins, fmin, fmax, log_offset=log_offset,
                                         power=2.0, window=window, dft_method=dft_method,
                                         dtype="float32", name="log_mel")
        self.num_coefficients = _dsp.positive_int(owner, "num_coefficients", num_coefficients)
        if self.num_coefficients > self.log_mel.num_mel_bins:
            raise ConfigError(
                f"{owner}: more coefficients than mel bins",
                received=f"num_coefficients={num_coefficients}, num_mel_bins={num_mel_bins}",
                expected="num_coefficients <= num_mel_bins",
                fix="lower num_coefficients or raise num_mel_bins",
            )
        if not isinstance(db_scale, bool):
            raise ConfigError(f"{owner}: db_scale must be a bool", received=repr(db_scale),
                              expected="True or False")
        self.db_scale = db_scale
        self._dct = dct_ii_matrix(self.log_mel.num_mel_bins, self.num_coefficients)
        if db_scale:
            self._dct = (self._dct * DB_PER_NEPER).astype(np.float32)

    def build(self, input_shape):
        self.log_mel.build(input_shape)

    def call(self, inputs):
        return _dsp.matmul_last(self.log_mel(inputs), self._dct)

    def compute_output_shape(self, input_shape):
        shape = self.log_mel.compute_output_shape(input_shape)
        return (shape[0], shape[1], self.num_coefficients)

    def get_config(self):
        config = super().get_config()
        lm = self.log_mel
        config.update(sample_rate=lm.sample_rate, frame_length=lm.frame_length,
                      frame_step=lm.frame_step, fft_length=lm.fft_length,
                      num_mel_bins=lm.num_mel_bins, fmin=lm.fmin, fmax=lm.fmax,
                      num_coefficients=self.num_coefficients, log_offset=lm.log_offset,
                      db_scale=self.db_scale, window=lm.window, dft_method=lm.dft_method)
        return config
