"""Cumulative layer normalization (Luo & Mesgarani 2019, Conv-TasNet, eq. 13): causal gLN."""

from __future__ import annotations

import keras
from keras import ops

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
        total = ops.sum(x, axis=-1, keepdims=True)
        count = ops.cumsum(ops.ones_like(total), axis=1) * float(x.shape[-1])  # entries in frames 0..t
        mean = ops.cumsum(total, axis=1) / count
        power = ops.cumsum(ops.sum(ops.square(x), axis=-1, keepdims=True), axis=1) / count
        var = ops.maximum(power - ops.square(mean), 0.0)
        return self.gamma * (x - mean) * ops.rsqrt(var + self.epsilon) + self.beta
