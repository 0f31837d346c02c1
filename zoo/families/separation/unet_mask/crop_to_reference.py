"""Cropping of a padded spectrogram image back to the frames and bins of a reference spectrogram."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class CropToReference(keras.layers.Layer):
    """(x f32[B, F', K', C], reference f32[B, F, K]) -> x[:, :F, :K, :] (undoes PadToMultiple)."""

    def call(self, x, reference):
        return x[:, :tf.shape(reference)[1], :tf.shape(reference)[2], :]

    def compute_output_spec(self, x, reference):
        return keras.KerasTensor((x.shape[0], reference.shape[1], reference.shape[2], x.shape[3]), dtype=x.dtype)
