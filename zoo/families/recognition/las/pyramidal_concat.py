"""The pyramidal step of LAS's listener: concatenate consecutive frame pairs (time / 2, width x 2)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class PyramidalConcat(keras.layers.Layer):
    """[B, T, D] -> [B, ceil(T / 2), 2 D]: frames 2t and 2t + 1 side by side; an odd T is padded
    with one zero frame (so frame counts follow the 'same'-stride rule ceil(T / 2))."""

    def call(self, x):
        frames = tf.shape(x)[1]
        x = tf.pad(x, [[0, 0], [0, frames % 2], [0, 0]])
        return tf.reshape(x, tf.stack([tf.shape(x)[0], tf.shape(x)[1] // 2, 2 * x.shape[-1]]))

    def compute_output_shape(self, input_shape):
        time = None if input_shape[1] is None else -(-input_shape[1] // 2)
        return (input_shape[0], time, 2 * input_shape[2])
