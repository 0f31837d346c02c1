"""CLDNN acoustic model (Sainath et al. 2015, "Convolutional, Long Short-Term Memory, fully
connected Deep Neural Networks", ICASSP): frequency convolution + max-pooling, a linear
projection, a stack of LSTMs and a DNN on top; here trained with CTC over characters."""

from __future__ import annotations

import keras

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import ConfigError


def _positive(owner, what, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{owner} {what} must be a positive int", received=value)
    return value


@keras.saving.register_keras_serializable(package="zoo")
class CLDNNCTCBackbone(keras.Model):
    """features [B, F0, num_features] -> frames [B, ceil(F0 / time_stride), dnn_units].

    Args:
        num_features: feature bins per frame.
        conv_filters: filters of the one time-frequency convolution.
        conv_kernel_size: [time, frequency] kernel ('same' padding).
        time_stride: the convolution's stride in time (frame-rate reduction).
        freq_pool: max-pooling size (and stride) along frequency after the convolution.
        projection_units: linear layer reducing the conv features before the LSTMs (0 = none).
        lstm_units, num_lstm_layers: the LSTM stack.
        bidirectional: bidirectional LSTMs (False: causal, as the original CLDNN).
        dnn_units: width of the ReLU layer on top (0 = none: outputs the last LSTM).
        dropout: between the LSTM layers and before the DNN (training only).
    """

    def __init__(self, num_features, conv_filters=32, conv_kernel_size=(5, 8), time_stride=2, freq_pool=3,
                 projection_units=128, lstm_units=192, num_lstm_layers=2, bidirectional=False, dnn_units=256,
                 dropout=0.1, **kwargs):
        owner = type(self).__name__
        for what, value in (("num_features", num_features), ("conv_filters", conv_filters),
                            ("time_stride", time_stride), ("freq_pool", freq_pool), ("lstm_units", lstm_units),
                            ("num_lstm_layers", num_lstm_layers)):
            _positive(owner, what, value)
        for what, value in (("projection_units", projection_units), ("dnn_units", dnn_units)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{owner} {what} must be an int >= 0 (0 = no layer)", received=value)
        kernel = list(conv_kernel_size)
        if len(kernel) != 2 or not all(isinstance(k, int) and k >= 1 for k in kernel):
            raise ConfigError(f"{owner} conv_kernel_size must be two positive ints", received=conv_kernel_size,
                              expected="[time, frequency]")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"{owner} dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "cldnn_ctc_backbone")

        features = keras.Input(shape=(None, num_features), dtype="float32", name="features")
        x = keras.layers.BatchNormalization(name="input_norm")(features)
        x = keras.layers.Reshape((-1, num_features, 1), name="add_channel")(x)
        x = keras.layers.Conv2D(conv_filters, kernel, strides=(time_stride, 1), padding="same", use_bias=False,
                                name="conv")(x)
        x = keras.layers.BatchNormalization(name="conv_bn")(x)
        x = keras.layers.ReLU(name="conv_relu")(x)
        x = keras.layers.MaxPooling2D((1, freq_pool), padding="same", name="freq_pool")(x)
        bands = -(-num_features // freq_pool)
        x = keras.layers.Reshape((-1, bands * conv_filters), name="to_frames")(x)
        if projection_units:
            x = keras.layers.Dense(projection_units, name="projection")(x)
        for i in range(1, num_lstm_layers + 1):
            if i > 1:
                x = keras.layers.Dropout(float(dropout), name=f"lstm{i - 1}_dropout")(x)
            lstm = keras.layers.LSTM(lstm_units, return_sequences=True, name=f"lstm{i}")
            x = bidirectional_rnn(lstm, name=f"blstm{i}")(x) if bidirectional else lstm(x)
        if dnn_units:
            x = keras.layers.Dropout(float(dropout), name="dnn_dropout")(x)
            x = keras.layers.Dense(dnn_units, activation="relu", name="dnn")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_size = kernel
        self.time_stride = time_stride
        self.freq_pool = freq_pool
        self.projection_units = projection_units
        self.lstm_units = lstm_units
        self.num_lstm_layers = num_lstm_layers
        self.bidirectional = bool(bidirectional)
        self.dnn_units = dnn_units
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_features": self.num_features,
            "conv_filters": self.conv_filters,
            "conv_kernel_size": list(self.conv_kernel_size),
            "time_stride": self.time_stride,
            "freq_pool": self.freq_pool,
            "projection_units": self.projection_units,
            "lstm_units": self.lstm_units,
            "num_lstm_layers": self.num_lstm_layers,
            "bidirectional": self.bidirectional,
            "dnn_units": self.dnn_units,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
