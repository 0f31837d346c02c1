"""DeepSpeech2-style encoder (Amodei et al. 2016, "Deep Speech 2", arXiv:1512.02595): 2D
convolutions subsample time and frequency, then a stack of (bi)directional GRUs. With
causal=True the convolutions see no future frames and the GRUs are unidirectional, so the
model can run frame by frame (the streaming variant)."""

from __future__ import annotations

import keras

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class DeepSpeech2Backbone(keras.Model):
    """features [B, F0, num_features] -> frames [B, ceil(F0 / time_stride), rnn width].

    Args:
        num_features: feature bins per frame.
        conv_filters: filters per conv layer (list).
        conv_kernel_sizes: [time, frequency] kernel per conv layer.
        conv_strides: [time, frequency] stride per conv layer; time_stride is the product in time.
        rnn_units, num_rnn_layers: the GRU stack (per direction).
        bidirectional: bidirectional GRUs (ignored, i.e. unidirectional, when causal).
        causal: conv padding only on the past side in time and unidirectional GRUs.
        dropout: between the GRU layers (training only).
    """

    def __init__(self, num_features, conv_filters=(32, 32), conv_kernel_sizes=((11, 11), (11, 7)),
                 conv_strides=((2, 2), (1, 2)), rnn_units=192, num_rnn_layers=3, bidirectional=True, causal=False,
                 dropout=0.1, **kwargs):
        owner = type(self).__name__
        for what, value in (("num_features", num_features), ("rnn_units", rnn_units),
                            ("num_rnn_layers", num_rnn_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{owner} {what} must be a positive int", received=value)
        conv_filters = [int(f) for f in conv_filters]
        kernels = [list(k) for k in conv_kernel_sizes]
        strides = [list(s) for s in conv_strides]
        if not (len(conv_filters) == len(kernels) == len(strides)) or not conv_filters:
            raise ConfigError(f"{owner} conv_filters, conv_kernel_sizes and conv_strides must have one entry per "
                              "conv layer", received=[len(conv_filters), len(kernels), len(strides)])
        for pair in kernels + strides:
            if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
                raise ConfigError(f"{owner} kernel sizes and strides are [time, frequency] pairs of positive ints",
                                  received=pair)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"{owner} dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "deepspeech2_backbone")

        features = keras.Input(shape=(None, num_features), dtype="float32", name="features")
        x = keras.layers.BatchNormalization(name="input_norm")(features)
        x = keras.layers.Reshape((-1, num_features, 1), name="add_channel")(x)
        bands = num_features
        for i, (filters, kernel, stride) in enumerate(zip(conv_filters, kernels, strides), start=1):
            if causal:
                # Past-only context in time; output frames stay ceil(F / stride) as with 'same'.
                x = keras.layers.ZeroPadding2D(((kernel[0] - 1, 0), (0, 0)), name=f"conv{i}_causal_pad")(x)
                x = keras.layers.Conv2D(filters, (kernel[0], 1), strides=(stride[0], 1), padding="valid",
                                        use_bias=False, name=f"conv{i}_time")(x)
                x = keras.layers.Conv2D(filters, (1, kernel[1]), strides=(1, stride[1]), padding="same",
                                        use_bias=False, name=f"conv{i}_freq")(x)
            else:
                x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                                        name=f"conv{i}")(x)
            x = keras.layers.BatchNormalization(name=f"conv{i}_bn")(x)
            x = keras.layers.ReLU(max_value=20.0, name=f"conv{i}_relu")(x)  # DS2's clipped ReLU
            bands = -(-bands // stride[1])
        x = keras.layers.Reshape((-1, bands * conv_filters[-1]), name="to_frames")(x)
        for i in range(1, num_rnn_layers + 1):
            if i > 1:
                x = keras.layers.Dropout(float(dropout), name=f"gru{i - 1}_dropout")(x)
            gru = keras.layers.GRU(rnn_units, return_sequences=True, name=f"gru{i}")
            x = bidirectional_rnn(gru, name=f"bigru{i}")(x) if bidirectional and not causal else gru(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_sizes = kernels
        self.conv_strides = strides
        self.rnn_units = rnn_units
        self.num_rnn_layers = num_rnn_layers
        self.bidirectional = bool(bidirectional)
        self.causal = bool(causal)
        self.dropout = float(dropout)
        stride_t = 1
        for s in strides:
            stride_t *= s[0]
        self.time_stride = stride_t

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_features": self.num_features,
            "conv_filters": list(self.conv_filters),
            "conv_kernel_sizes": [list(k) for k in self.conv_kernel_sizes],
            "conv_strides": [list(s) for s in self.conv_strides],
            "rnn_units": self.rnn_units,
            "num_rnn_layers": self.num_rnn_layers,
            "bidirectional": self.bidirectional,
            "causal": self.causal,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
