"""Framing of a waveform into overlapping frames (analysis half of a framed transform)."""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError


def frame_by_gather(waveform, frame_length: int, frame_step: int):
    """tf.signal.frame(pad_end=False) in keras.ops, for f32[B, T] of static T (JAX traces are)."""
    count = 1 + (waveform.shape[1] - frame_length) // frame_step
    index = ops.arange(count)[:, None] * frame_step + ops.arange(frame_length)[None, :]
    return ops.take(waveform, index, axis=1)


@keras.saving.register_keras_serializable(package="zoo")
class FrameSignal(keras.layers.Layer):
    """f32[B, T] -> f32[B, 1 + (T - frame_length) // frame_step, frame_length] (no padding).

    On TensorFlow, tf.signal.frame (the op the SavedModel and TFLite exports are gated on); on
    other Keras backends (JAX for accelerator training), the same frames by one gather (`frame_by_gather`).

    Args:
        frame_length, frame_step: frame size and hop in samples.
    """

    def __init__(self, frame_length, frame_step, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("frame_length", frame_length), ("frame_step", frame_step)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"FrameSignal {what} must be a positive int", received=value)
        self.frame_length, self.frame_step = frame_length, frame_step

    def call(self, waveform):
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.signal.frame(waveform, self.frame_length, self.frame_step, pad_end=False)
        return frame_by_gather(waveform, self.frame_length, self.frame_step)

    def compute_output_spec(self, waveform):
        return keras.KerasTensor((waveform.shape[0], None, self.frame_length), dtype=waveform.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step}
