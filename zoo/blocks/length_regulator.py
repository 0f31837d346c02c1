"""FastSpeech's length regulator: repeat each token's encoding for its duration in frames."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class LengthRegulator(keras.layers.Layer):
    """(encodings f32[B, L, C], durations i32[B, L]) -> (frames f32[B, N, C], frame_length i32[B]).

    N is the longest row's total duration; frames past a row's total are zero. Written as a
    [B, N, L] 0/1 alignment matrix times the encodings (core ops, differentiable in the encodings,
    no per-row loop): frame t takes token l where start_l <= t < end_l.
    """

    def call(self, encodings, durations):
        durations = tf.maximum(tf.cast(durations, tf.int32), 0)
        ends = tf.cumsum(durations, axis=1)
        starts = ends - durations
        frame_length = tf.reduce_sum(durations, axis=1)
        t = tf.range(tf.reduce_max(frame_length))[None, :, None]
        alignment = tf.cast((t >= starts[:, None, :]) & (t < ends[:, None, :]), encodings.dtype)
        return tf.matmul(alignment, encodings), frame_length

    def compute_output_spec(self, encodings, durations):
        return (keras.KerasTensor((encodings.shape[0], None, encodings.shape[2]), dtype=encodings.dtype),
                keras.KerasTensor((encodings.shape[0],), dtype="int32"))
