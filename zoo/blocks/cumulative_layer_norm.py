"""Cumulative layer normalization (Luo & Mesgarani 2019, Conv-TasNet, eq. 13): causal gLN."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.blocks.global_layer_norm import GlobalLayerNorm


@keras.saving.register_keras_serializable(package="zoo")
class CumulativeLayerNorm(GlobalLayerNorm):
    """Normalizes frame t of f32[B, T, C] by the mean and variance over frames 0..t and all channels,
    then scales and shifts per channel. Causal: output t depends on inputs 0..t only. Weights and
    config as GlobalLayerNorm; only the statistics differ.

    Args:
        epsilon: added to the variance.
    """

    def call(self, x):
        channels = tf.cast(tf.shape(x)[-1], x.dtype)
        count = tf.cast(tf.range(1, tf.shape(x)[1] + 1), x.dtype)[None, :, None] * channels
        mean = tf.cumsum(tf.reduce_sum(x, axis=-1, keepdims=True), axis=1) / count
        power = tf.cumsum(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True), axis=1) / count
        var = tf.maximum(power - tf.square(mean), 0.0)
        return self.gamma * (x - mean) * tf.math.rsqrt(var + self.epsilon) + self.beta
