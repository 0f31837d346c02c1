"""Scale-invariant SDR (Le Roux et al. 2019) and its negative as a Keras loss."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from zoo.errors import ConfigError


def si_sdr(y_true, y_pred, zero_mean: bool = True, eps: float = 1e-8):
    """SI-SDR in dB over the last axis: f32[...] for waveforms f32[..., T].

    target = <y_pred, y_true> / ||y_true||^2 * y_true, error = y_pred - target,
    SI-SDR = 10 log10(||target||^2 / ||error||^2). `eps` keeps silent references and perfect
    estimates finite (a perfect estimate scores about 10 log10(||target||^2 / eps)).
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    if zero_mean:
        y_true = y_true - ops.mean(y_true, axis=-1, keepdims=True)
        y_pred = y_pred - ops.mean(y_pred, axis=-1, keepdims=True)
    dot = ops.sum(y_true * y_pred, axis=-1, keepdims=True)
    energy = ops.sum(ops.square(y_true), axis=-1, keepdims=True)
    target = (dot + eps) / (energy + eps) * y_true
    error = y_pred - target
    ratio = (ops.sum(ops.square(target), axis=-1) + eps) / (ops.sum(ops.square(error), axis=-1) + eps)
    return 10.0 * ops.log(ratio) / np.log(10.0)


@keras.saving.register_keras_serializable(package="zoo")
class NegativeSISDR(keras.losses.Loss):
    """-SI-SDR (dB) of waveforms [..., T]; `call` returns f32[...] (the time axis reduced).

    Args:
        zero_mean: subtract each signal's mean first (the standard definition).
        eps: added to energies and the projection, so silence and perfect estimates stay finite.
    """

    def __init__(self, zero_mean=True, eps=1e-8, reduction="sum_over_batch_size", name="negative_si_sdr",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(zero_mean, bool):
            raise ConfigError("NegativeSISDR: zero_mean must be a bool", received=repr(zero_mean),
                              expected="True or False", fix="pass zero_mean=True")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ConfigError("NegativeSISDR: eps must be a positive number", received=repr(eps),
                              expected="float > 0", fix="pass e.g. eps=1e-8")
        self.zero_mean = zero_mean
        self.eps = float(eps)

    def call(self, y_true, y_pred):
        return -si_sdr(y_true, y_pred, zero_mean=self.zero_mean, eps=self.eps)

    def get_config(self):
        config = super().get_config()
        config.update({"zero_mean": self.zero_mean, "eps": self.eps})
        return config
