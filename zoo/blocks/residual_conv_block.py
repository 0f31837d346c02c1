"""Pre-norm residual 1-D conv block (the building block of the convolutional FastSpeech encoder/decoder)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class ResidualConvBlock(keras.layers.Layer):
    """Pre-norm residual block: x + dropout(conv(relu(layernorm(x)))), then zeroed where mask is 0."""

    def __init__(self, channels, kernel_size, dilation_rate=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.dilation_rate, self.dropout = channels, kernel_size, dilation_rate, dropout
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.conv = keras.layers.Conv1D(channels, kernel_size, dilation_rate=dilation_rate, padding="same",
                                        name="conv")
        self.drop = keras.layers.Dropout(dropout, name="dropout")

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.conv.build(input_shape)
        self.built = True

    def call(self, x, mask, training=None):
        y = self.drop(self.conv(tf.nn.relu(self.norm(x))), training=training)
        return (x + y) * mask

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate, "dropout": self.dropout}
