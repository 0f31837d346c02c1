"""Log-mel spectrogram with librosa's Slaney mel filterbank, as a Keras layer."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp
from zoo.frontends.stft import STFT


def mel_filterbank(owner, sample_rate, fft_length, num_mel_bins, fmin, fmax) -> np.ndarray:
    """[fft_length // 2 + 1, num_mel_bins]: librosa.filters.mel(htk=False, norm="slaney"), transposed."""
    import librosa

    sample_rate = _dsp.positive_int(owner, "sample_rate", sample_rate)
    fmin = _dsp.positive_float(owner, "fmin", fmin, allow_zero=True)
    fmax = sample_rate / 2.0 if fmax is None else _dsp.positive_float(owner, "fmax", fmax)
    if not fmin < fmax <= sample_rate / 2.0:
        raise ConfigError(
            f"{owner}: mel band edges out of range",
            received=f"fmin={fmin}, fmax={fmax}, sample_rate={sample_rate}",
            expected=f"0 <= fmin < fmax <= sample_rate / 2 = {sample_rate / 2.0}",
            fix="lower fmax to at most the Nyquist frequency, or raise fmax above fmin",
        )
    with warnings.catch_warnings():  # librosa warns on empty filters; we raise below instead
        warnings.simplefilter("ignore", UserWarning)
        mel = librosa.filters.mel(sr=sample_rate, n_fft=fft_length, n_mels=num_mel_bins, fmin=fmin,
                                  fmax=fmax, htk=False, norm="slaney", dtype=np.float32)
    empty = np.flatnonzero(mel.max(axis=1) <= 0)
    if empty.size:
        raise ConfigError(
            f"{owner}: {empty.size} mel filters cover no FFT bin (they would output constant features)",
            received=f"num_mel_bins={num_mel_bins}, fft_length={fft_length}, fmin={fmin}, fmax={fmax}",
            expected="every mel filter to overlap at least one FFT bin",
            fix="use fewer mel bins, a larger fft_length, or a higher fmin",
        )
    return mel.T.astype(np.float32)


@keras.saving.register_keras_serializable(package="zoo")
class LogMelSpectrogram(keras.layers.Layer):
    """Waveform [B, T] -> log(mel(|STFT|^power) + log_offset) [B, F, num_mel_bins].

    The filterbank equals librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False,
    norm="slaney") and is a graph constant computed at construction (not a weight), stored as
    band blocks (only the rows each group of filters covers: 1,417 of 10,280 entries for 40 bands at 512 points), so the result
    matches log(librosa.feature.melspectrogram(center=False, window=window, power=power) +
    log_offset) up to the framing convention documented in STFT.

    Args:
        sample_rate: Hz. frame_length, frame_step, fft_length, window, dft_method: as in STFT.
        num_mel_bins, fmin, fmax: mel bands (fmax=None means sample_rate / 2).
        log_offset: added before the natural log (> 0 keeps silence finite).
        power: exponent on the magnitude (2 = power spectrogram, 1 = magnitude).
    """

    def __init__(self, sample_rate, frame_length, frame_step, fft_length, num_mel_bins, fmin, fmax,
                 log_offset=1e-6, power=2.0, window="hann", dft_method="auto", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.sample_rate = _dsp.positive_int(owner, "sample_rate", sample_rate)
        self.num_mel_bins = _dsp.positive_int(owner, "num_mel_bins", num_mel_bins)
        self.log_offset = _dsp.positive_float(owner, "log_offset", log_offset)
        self.power = _dsp.positive_float(owner, "power", power)
        self.stft = STFT(frame_length, frame_step, fft_length, window=window,
                         output="power" if self.power == 2.0 else "magnitude",
                         dft_method=dft_method, dtype="float32", name="stft")
        self.frame_length, self.frame_step = self.stft.frame_length, self.stft.frame_step
        self.fft_length, self.window, self.dft_method = self.stft.fft_length, window, dft_method
        self._mel = mel_filterbank(owner, self.sample_rate, self.fft_length, self.num_mel_bins,
                                   fmin, fmax)
        self._mel_blocks = _dsp.band_blocks(self._mel)
        self.fmin = float(fmin)
        self.fmax = None if fmax is None else float(fmax)

    @property
    def mel_matrix(self) -> np.ndarray:
        """The constant filterbank, [fft_length // 2 + 1, num_mel_bins]."""
        return self._mel

    def build(self, input_shape):
        self.stft.build(input_shape)

    def mel_energies(self, inputs):
        spec = self.stft(inputs)
        if self.power not in (1.0, 2.0):
            spec = tf.pow(spec, self.power)
        return _dsp.banded_matmul_last(spec, self._mel_blocks)

    def call(self, inputs):
        # Piece by piece when the STFT's frames_per_chunk is set (export.tflite.frame_chunking), down
        # to the log-mel rows: only [F_i, num_mel_bins] pieces wait for the concatenation.
        return _dsp.over_frame_chunks(inputs, self.frame_length, self.frame_step, self.stft.frames_per_chunk,
                                      lambda piece: tf.math.log(self.mel_energies(piece) + self.log_offset))

    def compute_output_shape(self, input_shape):
        shape = self.stft.compute_output_shape(input_shape)
        return (shape[0], shape[1], self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(sample_rate=self.sample_rate, frame_length=self.frame_length,
                      frame_step=self.frame_step, fft_length=self.fft_length,
                      num_mel_bins=self.num_mel_bins, fmin=self.fmin, fmax=self.fmax,
                      log_offset=self.log_offset, power=self.power, window=self.window,
                      dft_method=self.dft_method)
        return config
