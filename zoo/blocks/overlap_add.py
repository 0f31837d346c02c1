"""Overlap-add of frames back into a waveform (synthesis half of a framed analysis/synthesis pair)."""

from __future__ import annotations

import keras
from keras import ops

from zoo.errors import ConfigError


def overlap_add_by_shifts(frames, frame_step: int):
    """tf.signal.overlap_and_add in keras.ops, for f32[..., F, L] of static shape (JAX traces are):
    each frame cut into hop-long pieces, piece k shifted by k hops, the pieces summed."""
    *lead, count, length = frames.shape
    pieces = -(-length // frame_step)  # frame length rounded up to whole hops
    no_pad = [(0, 0)] * len(lead)
    frames = ops.pad(frames, no_pad + [(0, 0), (0, pieces * frame_step - length)])
    frames = ops.reshape(frames, (*lead, count, pieces, frame_step))
    out = sum(ops.pad(frames[..., k, :], no_pad + [(k, pieces - 1 - k), (0, 0)]) for k in range(pieces))
    return ops.reshape(out, (*lead, (count + pieces - 1) * frame_step))[..., : (count - 1) * frame_step + length]


@keras.saving.register_keras_serializable(package="zoo")
class OverlapAdd(keras.layers.Layer):
    """f32[..., F, L] -> f32[..., (F - 1) * frame_step + L]: frames summed at multiples of frame_step.

    On TensorFlow, tf.signal.overlap_and_add (the op the exports are gated on); on other Keras
    backends (JAX for accelerator training), `overlap_add_by_shifts`.

    Args:
        frame_step: hop between frames in samples.
    """

    def __init__(self, frame_step, **kwargs):
        super().__init__(**kwargs)
        if isinstance(frame_step, bool) or not isinstance(frame_step, int) or frame_step < 1:
            raise ConfigError("OverlapAdd frame_step must be a positive int", received=frame_step)
        self.frame_step = frame_step

    def call(self, frames):
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.signal.overlap_and_add(frames, self.frame_step)
        return overlap_add_by_shifts(frames, self.frame_step)

    def compute_output_spec(self, frames):
        return keras.KerasTensor(tuple(frames.shape[:-2]) + (None,), dtype=frames.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_step": self.frame_step}
