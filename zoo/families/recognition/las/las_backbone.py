"""LAS listener (Chan et al. 2016, "Listen, attend and spell", ICASSP): a strided convolution, a
BLSTM and pyramidal BLSTM layers that halve the frame rate each."""

from __future__ import annotations

import keras

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import ConfigError
from zoo.families.recognition.las.pyramidal_concat import PyramidalConcat


@keras.saving.register_keras_serializable(package="zoo")
class LASBackbone(keras.Model):
    """features [B, F0, num_features] -> memory [B, ceil(F0 / time_stride), 2 lstm_units],
    time_stride = conv_stride * 2 ** num_pyramid_layers.

    Args:
        num_features: feature bins per frame.
        conv_filters, conv_kernel_size ([time, frequency]), conv_stride (time; frequency stride 2).
        lstm_units: per direction, every BLSTM layer.
        num_pyramid_layers: pyramidal BLSTM layers after the first BLSTM.
        dropout: between the BLSTM layers (training only).
    """

    def __init__(self, num_features, conv_filters=32, conv_kernel_size=(5, 11), conv_stride=2, lstm_units=128,
                 num_pyramid_layers=2, dropout=0.1, **kwargs):
        for what, value in (("num_features", num_features), ("conv_filters", conv_filters),
                            ("conv_stride", conv_stride), ("lstm_units", lstm_units)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"LASBackbone {what} must be a positive int", received=value)
        if isinstance(num_pyramid_layers, bool) or not isinstance(num_pyramid_layers, int) or num_pyramid_layers < 0:
            raise ConfigError("LASBackbone num_pyramid_layers must be an int >= 0", received=num_pyramid_layers)
        kernel = list(conv_kernel_size)
        if len(kernel) != 2 or not all(isinstance(k, int) and k >= 1 for k in kernel):
            raise ConfigError("LASBackbone conv_kernel_size must be two positive ints", received=conv_kernel_size)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("LASBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "las_backbone")

        features = keras.Input(shape=(None, num_features), dtype="float32", name="features")
        x = keras.layers.BatchNormalization(name="input_norm")(features)
        x = keras.layers.Reshape((-1, num_features, 1), name="add_channel")(x)
        x = keras.layers.Conv2D(conv_filters, kernel, strides=(conv_stride, 2), padding="same", use_bias=False,
                                name="conv")(x)
        x = keras.layers.BatchNormalization(name="conv_bn")(x)
        x = keras.layers.ReLU(name="conv_relu")(x)
        x = keras.layers.Reshape((-1, -(-num_features // 2) * conv_filters), name="to_frames")(x)
        x = bidirectional_rnn(keras.layers.LSTM(lstm_units, return_sequences=True, name="lstm0"),
                              name="blstm0")(x)
        for i in range(1, num_pyramid_layers + 1):
            x = keras.layers.Dropout(float(dropout), name=f"blstm{i - 1}_dropout")(x)
            x = PyramidalConcat(name=f"pyramid{i}")(x)
            x = bidirectional_rnn(keras.layers.LSTM(lstm_units, return_sequences=True, name=f"plstm{i}"),
                                  name=f"pblstm{i}")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_size = kernel
        self.conv_stride = conv_stride
        self.lstm_units = lstm_units
        self.num_pyramid_layers = num_pyramid_layers
        self.dropout = float(dropout)
        self.time_stride = conv_stride * 2 ** num_pyramid_layers

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_features": self.num_features,
            "conv_filters": self.conv_filters,
            "conv_kernel_size": list(self.conv_kernel_size),
            "conv_stride": self.conv_stride,
            "lstm_units": self.lstm_units,
            "num_pyramid_layers": self.num_pyramid_layers,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
