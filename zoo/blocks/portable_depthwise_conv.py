"""Dilated depthwise 1-D convolution that JAX trains fast (Conv-TasNet's separator blocks): on an H200,
Keras's DepthwiseConv1D made a Conv-TasNet update 8.5 times slower (docs/benchmarks.md, accelerator-step)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError

IMPLEMENTATIONS = ("auto", "conv", "shifts")


def depthwise_by_shifts(x, kernel, dilation: int, bias=None):
    """A 'valid' depthwise conv (depth multiplier 1) as a sum of P shifted, per-channel scaled copies:
    f32[B, T, C], kernel f32[P, C, 1] -> f32[B, T - dilation (P - 1), C]. Only slices and
    multiply-adds, which any backend fuses. With XLA's grouped convolution instead, a whole Conv-TasNet
    update on JAX took 3 times as long on one CPU core and 8.5 times as long on an H200
    (benchmarks/accelerator_step.py; on TensorFlow's CPU kernels the grouped conv is the faster one)."""
    taps = kernel.shape[0]
    length = x.shape[1] - dilation * (taps - 1)
    y = sum(x[:, k * dilation:k * dilation + length, :] * kernel[k, :, 0] for k in range(taps))
    return y if bias is None else y + bias


@keras.saving.register_keras_serializable(package="zoo")
class DepthwiseConv1D(keras.layers.DepthwiseConv1D):
    """keras.layers.DepthwiseConv1D ('valid', channels_last, depth multiplier 1, stride 1) with the same
    weights, computed by `depthwise_by_shifts` off TensorFlow. It keeps Keras's class name because a
    weights file keys each layer by it (layers/depthwise_conv1d_K): published weights load unchanged.
    On TensorFlow it is Keras's own conv, so the SavedModel and TFLite exports (and their gates) see
    the op they always saw.

    `implementation` (an attribute, not config: it changes speed, not results) forces "conv" or
    "shifts" on any backend; benchmarks/accelerator_step.py times both.
    """

    implementation = "auto"

    def __init__(self, kernel_size, **kwargs):
        super().__init__(kernel_size, **kwargs)
        if self.padding != "valid" or self.strides != (1,) or self.depth_multiplier != 1 \
                or self.data_format != "channels_last":
            raise ConfigError("DepthwiseConv1D takes padding='valid', strides=1, depth_multiplier=1, "
                              "channels_last", received=dict(padding=self.padding, strides=self.strides,
                                                             depth_multiplier=self.depth_multiplier,
                                                             data_format=self.data_format),
                              fix="pad before the layer (ZeroPadding1D) for 'same' or causal convs")

    def call(self, inputs):
        if self.implementation not in IMPLEMENTATIONS:
            raise ConfigError("DepthwiseConv1D.implementation is not known",
                              received=self.implementation, expected=" | ".join(IMPLEMENTATIONS))
        shifts = self.implementation == "shifts" or (
            self.implementation == "auto" and keras.backend.backend() != "tensorflow")
        if not shifts:
            return super().call(inputs)
        y = depthwise_by_shifts(inputs, self.kernel, self.dilation_rate[0], self.bias if self.use_bias else None)
        return self.activation(y) if self.activation is not None else y
