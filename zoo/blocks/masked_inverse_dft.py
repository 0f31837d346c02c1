"""Spectral masking followed by the inverse real DFT, as constant matrix products (TFLite builtins)."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.blocks.real_dft import inverse_dft_matrices
from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class MaskedInverseDFT(keras.layers.Layer):
    """(spectrum f32[..., 2, n/2+1] from RealDFT, mask f32[..., n/2+1]) -> frames f32[..., n]:
    irfft(mask * spectrum), the mask applied to the real and imaginary parts alike (mixture phase).

    Args:
        frame_length: n (even).
    """

    def __init__(self, frame_length, **kwargs):
        super().__init__(**kwargs)
        if isinstance(frame_length, bool) or not isinstance(frame_length, int) or frame_length < 2 or frame_length % 2:
            raise ConfigError("MaskedInverseDFT frame_length must be an even int >= 2", received=frame_length)
        self.frame_length = frame_length

    def call(self, spectrum, mask):
        a, b = inverse_dft_matrices(self.frame_length)
        re = spectrum[..., 0, :] * mask
        im = spectrum[..., 1, :] * mask
        return tf.matmul(re, a) + tf.matmul(im, b)

    def compute_output_spec(self, spectrum, mask):
        return keras.KerasTensor(tuple(mask.shape[:-1]) + (self.frame_length,), dtype=mask.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length}
