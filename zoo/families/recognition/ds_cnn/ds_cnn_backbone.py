"""DS-CNN keyword-spotting backbone (Zhang et al. 2017, "Hello Edge", arXiv:1711.07128)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


def _pair(value, what):
    pair = [value, value] if isinstance(value, int) else list(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ConfigError(f"DSCNNBackbone {what} must be two positive ints", received=value,
                          expected="[time, frequency], e.g. [10, 4]")
    return pair


@keras.saving.register_keras_serializable(package="zoo")
class DSCNNBackbone(keras.Model):
    """Depthwise-separable CNN over a [frames, features] map, globally average-pooled.

    One standard conv (first_kernel_size, first_strides), then `num_blocks` blocks of
    depthwise kxk conv -> BN -> ReLU -> pointwise 1x1 conv -> BN -> ReLU, all with `filters`
    channels and 'same' padding; convs have no bias (BatchNorm follows each).

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        filters: channels of every conv (Hello Edge S/M/L: 64/172/276).
        num_blocks: depthwise-separable blocks (S/M/L: 4/4/5).
        first_kernel_size, first_strides: [time, frequency] of the first conv.
        kernel_size: [time, frequency] of the depthwise convs.
        dropout: dropout after the first conv (training only).
    Output: embedding [B, filters].
    """

    def __init__(self, num_frames, num_features, filters=64, num_blocks=4, first_kernel_size=(10, 4),
                 first_strides=(2, 2), kernel_size=(3, 3), dropout=0.0, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("filters", filters)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"DSCNNBackbone {what} must be a positive int", received=value)
        if not isinstance(num_blocks, int) or num_blocks < 0:
            raise ConfigError("DSCNNBackbone num_blocks must be an int >= 0", received=num_blocks)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("DSCNNBackbone dropout must be in [0, 1)", received=dropout)
        first_kernel_size = _pair(first_kernel_size, "first_kernel_size")
        first_strides = _pair(first_strides, "first_strides")
        kernel_size = _pair(kernel_size, "kernel_size")
        kwargs.setdefault("name", "ds_cnn_backbone")

        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        x = keras.layers.Reshape((num_frames, num_features, 1), name="add_channel")(features)
        x = keras.layers.Conv2D(filters, first_kernel_size, strides=first_strides, padding="same",
                                use_bias=False, kernel_initializer="he_normal", name="conv0")(x)
        x = keras.layers.BatchNormalization(name="conv0_bn")(x)
        x = keras.layers.ReLU(name="conv0_relu")(x)
        x = keras.layers.Dropout(float(dropout), name="conv0_dropout")(x)
        # He init with the depthwise fan-in (kernel area): Keras' default counts all channels as fan-in
        # and shrinks activations ~10x per block at initialization.
        dw_std = (2.0 / (kernel_size[0] * kernel_size[1])) ** 0.5
        for i in range(1, num_blocks + 1):
            x = keras.layers.DepthwiseConv2D(kernel_size, padding="same", use_bias=False,
                                             depthwise_initializer=keras.initializers.RandomNormal(stddev=dw_std),
                                             name=f"block{i}_dw")(x)
            x = keras.layers.BatchNormalization(name=f"block{i}_dw_bn")(x)
            x = keras.layers.ReLU(name=f"block{i}_dw_relu")(x)
            x = keras.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer="he_normal",
                                    name=f"block{i}_pw")(x)
            x = keras.layers.BatchNormalization(name=f"block{i}_pw_bn")(x)
            x = keras.layers.ReLU(name=f"block{i}_pw_relu")(x)
        embedding = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
        super().__init__(inputs=features, outputs=embedding, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.filters = filters
        self.num_blocks = num_blocks
        self.first_kernel_size = first_kernel_size
        self.first_strides = first_strides
        self.kernel_size = kernel_size
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "num_features": self.num_features,
            "filters": self.filters,
            "num_blocks": self.num_blocks,
            "first_kernel_size": list(self.first_kernel_size),
            "first_strides": list(self.first_strides),
            "kernel_size": list(self.kernel_size),
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
