"""Log magnitude of a stacked (real, imag) spectrum."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class LogMagnitude(keras.layers.Layer):
    """f32[..., 2, K] (real, imag) -> log(sqrt(re^2 + im^2 + floor)) f32[..., K].

    Args:
        floor: added to the power (keeps silence finite; ~-140 dB for 1e-14).
    """

    def __init__(self, floor=1e-14, **kwargs):
        super().__init__(**kwargs)
        self.floor = float(floor)

    def call(self, spectrum):
        power = tf.square(spectrum[..., 0, :]) + tf.square(spectrum[..., 1, :])
        return 0.5 * tf.math.log(power + self.floor)

    def compute_output_spec(self, spectrum):
        return keras.KerasTensor(tuple(spectrum.shape[:-2]) + (spectrum.shape[-1],), dtype=spectrum.dtype)

    def get_config(self):
        return {**super().get_config(), "floor": self.floor}
