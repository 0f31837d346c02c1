"""Global layer normalization (Luo & Mesgarani 2019, Conv-TasNet, eq. 12)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class GlobalLayerNorm(keras.layers.Layer):
    """Normalizes f32[B, T, C] by the mean and variance over time and channels of each example,
    then scales and shifts per channel (gamma, beta). Non-causal: every output sees the whole signal.
    Written in keras.ops, so it runs on any Keras backend (JAX for accelerator training).

    Args:
        epsilon: added to the variance.
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True)
        return self.gamma * (x - mean) * ops.rsqrt(var + self.epsilon) + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
