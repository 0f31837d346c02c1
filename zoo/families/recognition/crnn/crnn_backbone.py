"""CRNN keyword-spotting backbone (Arik et al. 2017, arXiv:1703.05390; Hello Edge's CRNN)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


def _pair(value, what):
    pair = [value, value] if isinstance(value, int) else list(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ConfigError(f"CRNNBackbone {what} must be two positive ints", received=value,
                          expected="[time, frequency]")
    return pair


@keras.saving.register_keras_serializable(package="zoo")
class CRNNBackbone(keras.Model):
    """Conv front -> BN -> ReLU -> frames of (frequency x channels) -> stacked GRU/LSTM -> state.

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        conv_filters, conv_kernel_size, conv_strides: the conv front ('same' padding).
        rnn_type: "gru" or "lstm".
        rnn_units, num_rnn_layers: recurrent layers (unidirectional, causal in time).
        pooling: "last" (last state of the top layer) or "mean" (average over time).
        dense_units: width of a ReLU layer after pooling; 0 = none.
        dropout: dropout between recurrent layers and before the dense layer (training only).
        unroll: unroll the recurrences (fixed steps; needed for int8 TFLite, DESIGN.md section 5).
    Output: embedding [B, dense_units or rnn_units].
    """

    def __init__(self, num_frames, num_features, conv_filters=16, conv_kernel_size=(10, 8), conv_strides=(2, 4),
                 rnn_type="gru", rnn_units=48, num_rnn_layers=2, pooling="last", dense_units=64, dropout=0.0,
                 unroll=False, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("conv_filters", conv_filters), ("rnn_units", rnn_units),
                            ("num_rnn_layers", num_rnn_layers)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"CRNNBackbone {what} must be a positive int", received=value)
        if not isinstance(dense_units, int) or dense_units < 0:
            raise ConfigError("CRNNBackbone dense_units must be an int >= 0 (0 = no dense layer)",
                              received=dense_units)
        if rnn_type not in ("gru", "lstm"):
            raise ConfigError("CRNNBackbone rnn_type is unknown", received=rnn_type, expected=["gru", "lstm"])
        if pooling not in ("last", "mean"):
            raise ConfigError("CRNNBackbone pooling is unknown", received=pooling, expected=["last", "mean"])
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("CRNNBackbone dropout must be in [0, 1)", received=dropout)
        conv_kernel_size = _pair(conv_kernel_size, "conv_kernel_size")
        conv_strides = _pair(conv_strides, "conv_strides")
        kwargs.setdefault("name", "crnn_backbone")

        frames = -(-num_frames // conv_strides[0])  # 'same' padding: ceil
        bands = -(-num_features // conv_strides[1])
        rnn_class = keras.layers.GRU if rnn_type == "gru" else keras.layers.LSTM
        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        x = keras.layers.Reshape((num_frames, num_features, 1), name="add_channel")(features)
        x = keras.layers.Conv2D(conv_filters, conv_kernel_size, strides=conv_strides, padding="same",
                                use_bias=False, name="conv")(x)
        x = keras.layers.BatchNormalization(name="conv_bn")(x)
        x = keras.layers.ReLU(name="conv_relu")(x)
        x = keras.layers.Reshape((frames, bands * conv_filters), name="to_frames")(x)
        for i in range(1, num_rnn_layers + 1):
            top = i == num_rnn_layers
            if i > 1:
                x = keras.layers.Dropout(float(dropout), name=f"{rnn_type}{i - 1}_dropout")(x)
            x = rnn_class(rnn_units, return_sequences=not (top and pooling == "last"), unroll=bool(unroll),
                          name=f"{rnn_type}{i}")(x)
        if pooling == "mean":
            x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
        if dense_units:
            x = keras.layers.Dropout(float(dropout), name="dense_dropout")(x)
            x = keras.layers.Dense(dense_units, name="embedding_dense")(x)
            x = keras.layers.ReLU(name="embedding")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_size = conv_kernel_size
        self.conv_strides = conv_strides
        self.rnn_type = rnn_type
        self.rnn_units = rnn_units
        self.num_rnn_layers = num_rnn_layers
        self.pooling = pooling
        self.dense_units = dense_units
        self.dropout = float(dropout)
        self.unroll = bool(unroll)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "num_features": self.num_features,
            "conv_filters": self.conv_filters,
            "conv_kernel_size": list(self.conv_kernel_size),
            "conv_strides": list(self.conv_strides),
            "rnn_type": self.rnn_type,
            "rnn_units": self.rnn_units,
            "num_rnn_layers": self.num_rnn_layers,
            "pooling": self.pooling,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "unroll": self.unroll,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
