"""Attractors and soft masks of the deep attractor network (Chen, Luo and Mesgarani 2017)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class AttractorMasks(keras.layers.Layer):
    """Masks softmax(V A^T) over sources, from embeddings and assignments (or given attractors).

    call(embeddings f32[B, T, K, D], assignments f32[B, T, K, S], weights f32[B, T, K]) ->
    (masks f32[B, T, K, S], attractors f32[B, S, D]); attractor s is the mean embedding of the bins
    assigned to s (weighted: silent bins excluded). `masks_from_attractors` skips the averaging
    (test time: k-means centres).

    Args:
        epsilon: added to the per-source weight sums (a source with no bins gets a zero attractor).
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ConfigError("AttractorMasks epsilon must be a positive number", received=repr(epsilon),
                              expected="float > 0")
        self.epsilon = float(epsilon)

    @staticmethod
    def masks_from_attractors(embeddings, attractors):
        logits = keras.ops.einsum("btkd,bsd->btks", embeddings, attractors)
        return keras.ops.softmax(logits, axis=-1)

    def call(self, embeddings, assignments, weights):
        y = assignments * weights[..., None]
        total = keras.ops.sum(y, axis=(1, 2))  # [B, S]
        attractors = keras.ops.einsum("btks,btkd->bsd", y, embeddings) / (total[..., None] + self.epsilon)
        return self.masks_from_attractors(embeddings, attractors), attractors

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
