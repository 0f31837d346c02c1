"""Zero padding of a spectrogram image's frame and bin axes up to a multiple (for stride-2 U-Nets)."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class PadToMultiple(keras.layers.Layer):
    """f32[B, F, K, C] -> f32[B, ceil(F / m) m, ceil(K / m) m, C], zeros appended on both axes, so that
    `log2(m)` stride-2 convolutions and their transposes give back the padded size exactly.

    Args:
        multiple: m.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
            raise ConfigError("PadToMultiple multiple must be a positive int", received=multiple,
                              expected="e.g. 2 ** depth", fix="pass multiple=32")
        self.multiple = multiple

    def call(self, x):
        m = self.multiple
        frames, bins = tf.shape(x)[1], tf.shape(x)[2]
        return tf.pad(x, [[0, 0], [0, (m - frames % m) % m], [0, (m - bins % m) % m], [0, 0]])

    def compute_output_spec(self, x):
        def up(n):
            return None if n is None else -(-n // self.multiple) * self.multiple

        return keras.KerasTensor((x.shape[0], up(x.shape[1]), up(x.shape[2]), x.shape[3]), dtype=x.dtype)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}
