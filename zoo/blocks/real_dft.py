"""Real DFT of frames as constant matrix products (TFLite builtins only, no RFFT / IRFFT kernels)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError


def dft_matrices(n: int):
    """(cos [n, n/2+1], -sin [n, n/2+1]) so that rfft(x) = x @ cos + 1j * (x @ -sin)."""
    k = np.arange(n // 2 + 1)[None, :]
    t = np.arange(n)[:, None]
    angle = 2.0 * np.pi * t * k / n
    return np.cos(angle).astype(np.float32), (-np.sin(angle)).astype(np.float32)


def inverse_dft_matrices(n: int):
    """(a [n/2+1, n], b [n/2+1, n]) so that irfft(re + 1j im) = re @ a + im @ b (Hermitian symmetry)."""
    k = np.arange(n // 2 + 1)[:, None]
    t = np.arange(n)[None, :]
    weight = np.where((k == 0) | (k == n // 2), 1.0, 2.0) / n
    angle = 2.0 * np.pi * k * t / n
    return (weight * np.cos(angle)).astype(np.float32), (-weight * np.sin(angle)).astype(np.float32)


@keras.saving.register_keras_serializable(package="zoo")
class RealDFT(keras.layers.Layer):
    """frames f32[..., n] -> stacked (real, imag) f32[..., 2, n/2+1] of the unwindowed real DFT.

    Args:
        frame_length: n (even).
    """

    def __init__(self, frame_length, **kwargs):
        super().__init__(**kwargs)
        if isinstance(frame_length, bool) or not isinstance(frame_length, int) or frame_length < 2 or frame_length % 2:
            raise ConfigError("RealDFT frame_length must be an even int >= 2", received=frame_length)
        self.frame_length = frame_length

    def call(self, frames):
        cos, sin = dft_matrices(self.frame_length)
        return tf.stack([tf.matmul(frames, cos), tf.matmul(frames, sin)], axis=-2)

    def compute_output_spec(self, frames):
        return keras.KerasTensor(tuple(frames.shape[:-1]) + (2, self.frame_length // 2 + 1), dtype=frames.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length}
