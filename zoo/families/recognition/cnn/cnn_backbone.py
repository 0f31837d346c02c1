"""CNN keyword-spotting backbone (Sainath & Parada 2015, Interspeech)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError

def _pairs(values, what, count):
    values = [list(v) for v in values]
    if len(values) != count or not all(len(v) == 2 and all(isinstance(d, int) and d >= 1 for d in v)
                                       for v in values):
        raise ConfigError(f"CNNBackbone {what} must be {count} [time, frequency] pairs of positive ints",
                          received=values, expected=f"{count} pairs, one per conv layer")
    return values


@keras.saving.register_keras_serializable(package="zoo")
class CNNBackbone(keras.Model):
    """Conv layers (ReLU, 'valid' padding, optional max pooling) -> linear low-rank layer -> ReLU DNN.

    Defaults are cnn-trad-fpool3; cnn_presets.TRAD_FPOOL3 and cnn_presets.one_fstride4(num_frames)
    give the paper's two topologies (one-fstride4: one conv spanning all frames, frequency stride 4).

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        conv_filters: channels per conv layer.
        conv_kernel_sizes, conv_strides, pool_sizes: one [time, frequency] pair per conv layer
            (pool [1, 1] = no pooling).
        linear_units: width of the linear (no activation) bottleneck after the convs.
        dense_units: widths of the ReLU layers after the bottleneck.
        dropout: dropout before each dense layer (training only).
    Output: embedding [B, dense_units[-1]].
    """

    def __init__(self, num_frames, num_features, conv_filters=(64, 64), conv_kernel_sizes=((20, 8), (10, 4)),
                 conv_strides=((1, 1), (1, 1)), pool_sizes=((1, 3), (1, 1)), linear_units=32,
                 dense_units=(128,), dropout=0.0, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("linear_units", linear_units)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"CNNBackbone {what} must be a positive int", received=value)
        conv_filters = list(conv_filters)
        if not conv_filters or not all(isinstance(f, int) and f >= 1 for f in conv_filters):
            raise ConfigError("CNNBackbone conv_filters must be a non-empty list of positive ints",
                              received=conv_filters)
        n = len(conv_filters)
        conv_kernel_sizes = _pairs(conv_kernel_sizes, "conv_kernel_sizes", n)
        conv_strides = _pairs(conv_strides, "conv_strides", n)
        pool_sizes = _pairs(pool_sizes, "pool_sizes", n)
        dense_units = list(dense_units)
        if not dense_units or not all(isinstance(u, int) and u >= 1 for u in dense_units):
            raise ConfigError("CNNBackbone dense_units must be a non-empty list of positive ints",
                              received=dense_units)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("CNNBackbone dropout must be in [0, 1)", received=dropout)
        # Check the map stays non-empty through the valid convs and pools.
        size = [num_frames, num_features]
        for i in range(n):
            size = [(s - k) // st + 1 for s, k, st in zip(size, conv_kernel_sizes[i], conv_strides[i])]
            size = [s // p for s, p in zip(size, pool_sizes[i])]
            if min(size) < 1:
                raise ConfigError(
                    f"CNNBackbone conv layer {i + 1} leaves an empty feature map",
                    received={"input": [num_frames, num_features], "kernel": conv_kernel_sizes[i],
                              "strides": conv_strides[i], "pool": pool_sizes[i]},
                    expected="kernels and pools no larger than the map they see",
                    fix="use smaller kernels, strides or pools, or more frames",
                )
        kwargs.setdefault("name", "cnn_backbone")

        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        # Per-band input normalisation (log-mel values sit far from zero; the paper normalised features).
        x = keras.layers.BatchNormalization(axis=-1, name="input_norm")(features)
        x = keras.layers.Reshape((num_frames, num_features, 1), name="add_channel")(x)
        for i in range(n):
            x = keras.layers.Conv2D(conv_filters[i], conv_kernel_sizes[i], strides=conv_strides[i],
                                    activation="relu", name=f"conv{i + 1}")(x)
            if pool_sizes[i] != [1, 1]:
                x = keras.layers.MaxPooling2D(pool_sizes[i], name=f"pool{i + 1}")(x)
        x = keras.layers.Flatten(name="conv_flat")(x)
        x = keras.layers.Dense(linear_units, name="linear")(x)  # low-rank bottleneck, no activation
        for i, units in enumerate(dense_units, start=1):
            x = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(x)
            x = keras.layers.Dense(units, name=f"dense{i}")(x)
            x = keras.layers.ReLU(name=f"relu{i}" if i < len(dense_units) else "embedding")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_sizes = conv_kernel_sizes
        self.conv_strides = conv_strides
        self.pool_sizes = pool_sizes
        self.linear_units = linear_units
        self.dense_units = dense_units
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "num_features": self.num_features,
            "conv_filters": list(self.conv_filters),
            "conv_kernel_sizes": [list(k) for k in self.conv_kernel_sizes],
            "conv_strides": [list(s) for s in self.conv_strides],
            "pool_sizes": [list(p) for p in self.pool_sizes],
            "linear_units": self.linear_units,
            "dense_units": list(self.dense_units),
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
