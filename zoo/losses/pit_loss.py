"""Permutation-invariant training (Yu et al. 2017) as one wrapper around any pairwise loss."""

from __future__ import annotations

import itertools

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError

MAX_SOURCES = 5  # 5! = 120 permutations; beyond that use a Hungarian assignment instead


@keras.saving.register_keras_serializable(package="zoo")
class PermutationInvariantLoss(keras.losses.Loss):
    """Min over source permutations of the mean pairwise loss; targets and estimates f32[B, S, ...].

    The S x S pairwise losses come from one call of `pairwise_loss` on all (target, estimate)
    pairs flattened into the batch; the S! permutation averages are one einsum with constant
    permutation matrices. `call` returns f32[B].

    Args:
        pairwise_loss: a Keras Loss (its unreduced `call` is used, e.g. NegativeSISDR()) or a
            loss function / registered name (e.g. "mean_squared_error") returning one value per
            example (extra axes are averaged).
    """

    def __init__(self, pairwise_loss, reduction="sum_over_batch_size", name="pit_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(pairwise_loss, dict):
            pairwise_loss = keras.saving.deserialize_keras_object(pairwise_loss)
        elif isinstance(pairwise_loss, str):
            try:
                pairwise_loss = keras.losses.get(pairwise_loss)
            except ValueError:
                pairwise_loss = None
        if not callable(pairwise_loss):
            raise ConfigError("PermutationInvariantLoss: pairwise_loss must be a loss", received=repr(pairwise_loss),
                              expected="a keras.losses.Loss, a loss function or a registered loss name",
                              fix="pass e.g. zoo.losses.si_sdr_loss.NegativeSISDR()")
        self.pairwise_loss = pairwise_loss

    def _num_sources(self, y_true, y_pred) -> int:
        t, p = tuple(np.shape(y_true)), tuple(np.shape(y_pred))
        if len(t) < 3 or len(t) != len(p) or t[1] is None or t[1] != p[1]:
            raise ConfigError("PermutationInvariantLoss: targets and estimates must be [B, S, ...] with the same "
                              "static S", received=f"y_true {t}, y_pred {p}",
                              expected="equal ranks >= 3 and equal, known source counts",
                              fix="stack the sources on axis 1 and give the model a fixed number of outputs")
        if not 1 <= t[1] <= MAX_SOURCES:
            raise ConfigError("PermutationInvariantLoss: too many sources", received=f"S = {t[1]}",
                              expected=f"1 <= S <= {MAX_SOURCES}", fix="use fewer sources per example")
        return int(t[1])

    def pairwise(self, y_true, y_pred):
        """f32[B, S, S]: entry [b, i, j] is the loss of estimate j against target i."""
        s = self._num_sources(y_true, y_pred)
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), y_true.dtype)
        rank = len(y_true.shape)
        # pair k = i * S + j holds target i and estimate j, flattened into the batch axis
        t = ops.repeat(y_true, s, axis=1)
        p = ops.tile(y_pred, [1, s] + [1] * (rank - 2))
        flat = [-1] + [ops.shape(y_true)[k] for k in range(2, rank)]
        fn = self.pairwise_loss.call if isinstance(self.pairwise_loss, keras.losses.Loss) else self.pairwise_loss
        values = ops.cast(ops.convert_to_tensor(fn(ops.reshape(t, flat), ops.reshape(p, flat))), "float32")
        if len(values.shape) > 1:  # losses that keep extra axes: their mean per pair
            values = ops.mean(values, axis=tuple(range(1, len(values.shape))))
        return ops.reshape(values, (-1, s, s))

    def _permutation_losses(self, y_true, y_pred):
        s = self._num_sources(y_true, y_pred)
        perms = np.array(list(itertools.permutations(range(s))), np.int32)  # [P, S]
        onehot = np.eye(s, dtype=np.float32)[perms]  # [P, S(target), S(estimate)]
        losses = ops.einsum("bij,pij->bp", self.pairwise(y_true, y_pred), ops.convert_to_tensor(onehot)) / s
        return losses, perms

    def call(self, y_true, y_pred):
        losses, _ = self._permutation_losses(y_true, y_pred)
        return ops.min(losses, axis=-1)

    def best_permutation(self, y_true, y_pred):
        """i32[B, S]: perm[b, i] is the estimate matched to target i (y_pred[b, perm[b]] aligns them)."""
        losses, perms = self._permutation_losses(y_true, y_pred)
        return ops.take(ops.convert_to_tensor(perms), ops.cast(ops.argmin(losses, axis=-1), "int32"), axis=0)

    @staticmethod
    def permute(y_pred, perm):
        """Reorder estimates f32[B, S, ...] by `best_permutation`'s i32[B, S]."""
        y_pred = ops.convert_to_tensor(y_pred)
        index = ops.cast(perm, "int32")
        for _ in range(len(y_pred.shape) - 2):  # [B, S, 1, ...]: broadcast over the signal axes
            index = ops.expand_dims(index, -1)
        return ops.take_along_axis(y_pred, index, axis=1)

    def get_config(self):
        config = super().get_config()
        config["pairwise_loss"] = keras.saving.serialize_keras_object(self.pairwise_loss)
        return config
