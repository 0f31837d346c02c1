"""GatedActivation: WaveNet's gate, tanh(filter) * sigmoid(gate) over the two halves of the channels."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class GatedActivation(keras.layers.Layer):
    """[..., 2C] -> [..., C]: tanh of the first C channels times sigmoid of the last C (a named layer so
    the backbone needs no Lambda and the incremental generator can run the same split)."""

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % 2:
            raise ConfigError("GatedActivation needs an even, known number of channels",
                              received=f"shape {tuple(input_shape)}", expected="[..., 2 * C]",
                              fix="feed the output of a conv with 2 * residual_channels filters")
        self.built = True

    def call(self, inputs):
        filt, gate = tf.split(inputs, 2, axis=-1)
        return tf.tanh(filt) * tf.sigmoid(gate)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], None if input_shape[-1] is None else input_shape[-1] // 2)
