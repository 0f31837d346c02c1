"""Overlap-add of frames back into a waveform (synthesis half of a framed analysis/synthesis pair)."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class OverlapAdd(keras.layers.Layer):
    """f32[..., F, L] -> f32[..., (F - 1) * frame_step + L]: frames summed at multiples of frame_step.

    Args:
        frame_step: hop between frames in samples.
    """

    def __init__(self, frame_step, **kwargs):
        super().__init__(**kwargs)
        if isinstance(frame_step, bool) or not isinstance(frame_step, int) or frame_step < 1:
            raise ConfigError("OverlapAdd frame_step must be a positive int", received=frame_step)
        self.frame_step = frame_step

    def call(self, frames):
        return tf.signal.overlap_and_add(frames, self.frame_step)

    def compute_output_spec(self, frames):
        return keras.KerasTensor(tuple(frames.shape[:-2]) + (None,), dtype=frames.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_step": self.frame_step}
