"""Scale vectors on the last axis to unit L2 norm (the deep clustering embedding constraint)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class UnitNormalize(keras.layers.Layer):
    """x / max(||x||, eps) on the last axis; any shape in, same shape out.

    Args:
        epsilon: floor on the norm, so all-zero vectors stay finite (they map to zero).
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ConfigError("UnitNormalize epsilon must be a positive number", received=repr(epsilon),
                              expected="float > 0", fix="pass e.g. epsilon=1e-8")
        self.epsilon = float(epsilon)

    def call(self, x):
        norm = keras.ops.sqrt(keras.ops.sum(keras.ops.square(x), axis=-1, keepdims=True))
        return x / keras.ops.maximum(norm, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
