"""Cumulative layer normalization (Luo & Mesgarani 2019, Conv-TasNet, eq. 13): causal gLN."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class CumulativeLayerNorm(keras.layers.Layer):
    """Normalizes frame t of f32[B, T, C] by the mean and variance over frames 0..t and all channels,
    then scales and shifts per channel. Causal: output t depends on inputs 0..t only.

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
        channels = tf.cast(tf.shape(x)[-1], x.dtype)
        count = tf.cast(tf.range(1, tf.shape(x)[1] + 1), x.dtype)[None, :, None] * channels
        mean = tf.cumsum(tf.reduce_sum(x, axis=-1, keepdims=True), axis=1) / count
        power = tf.cumsum(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True), axis=1) / count
        var = tf.maximum(power - tf.square(mean), 0.0)
        return self.gamma * (x - mean) * tf.math.rsqrt(var + self.epsilon) + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
