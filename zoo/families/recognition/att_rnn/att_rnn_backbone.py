"""Attention RNN keyword-spotting backbone (de Andrade et al. 2018, arXiv:1808.08929)."""

from __future__ import annotations

import keras

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class AttRNNBackbone(keras.Model):
    """Conv over time (x frequency) -> bidirectional RNNs -> dot-product attention -> dense layers.

    Two convs with [conv_kernel_size] kernels (conv_filters channels, then 1) with BN + ReLU clean
    the map in time; the RNN sequence is attended by a query projected from the middle (or last)
    frame: weights = softmax(seq . query), context = sum_t weights_t seq_t.

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        conv_filters, conv_kernel_size: the first conv ([time, frequency]); the second has 1 channel.
        rnn_type: "lstm" (paper) or "gru".
        rnn_units, num_rnn_layers: per direction.
        query_frame: "middle" or "last": the frame the attention query is projected from.
        dense_units: widths after attention; all ReLU except the last, which is linear as in the paper.
        dropout: dropout before each dense layer (training only).
        unroll: unroll the recurrences (fixed steps; needed for int8 TFLite, DESIGN.md section 5).
    Output: embedding [B, dense_units[-1]].
    """

    def __init__(self, num_frames, num_features, conv_filters=10, conv_kernel_size=(5, 1), rnn_type="lstm",
                 rnn_units=64, num_rnn_layers=2, query_frame="middle", dense_units=(64, 32), dropout=0.0,
                 unroll=False, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("conv_filters", conv_filters), ("rnn_units", rnn_units),
                            ("num_rnn_layers", num_rnn_layers)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"AttRNNBackbone {what} must be a positive int", received=value)
        conv_kernel_size = list(conv_kernel_size)
        if len(conv_kernel_size) != 2 or not all(isinstance(k, int) and k >= 1 for k in conv_kernel_size):
            raise ConfigError("AttRNNBackbone conv_kernel_size must be two positive ints",
                              received=conv_kernel_size, expected="[time, frequency], e.g. [5, 1]")
        if rnn_type not in ("gru", "lstm"):
            raise ConfigError("AttRNNBackbone rnn_type is unknown", received=rnn_type, expected=["gru", "lstm"])
        if query_frame not in ("middle", "last"):
            raise ConfigError("AttRNNBackbone query_frame is unknown", received=query_frame,
                              expected=["middle", "last"])
        dense_units = list(dense_units)
        if not dense_units or not all(isinstance(u, int) and u >= 1 for u in dense_units):
            raise ConfigError("AttRNNBackbone dense_units must be a non-empty list of positive ints",
                              received=dense_units)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("AttRNNBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "att_rnn_backbone")

        rnn_class = keras.layers.GRU if rnn_type == "gru" else keras.layers.LSTM
        query_index = num_frames // 2 if query_frame == "middle" else num_frames - 1
        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        x = keras.layers.Reshape((num_frames, num_features, 1), name="add_channel")(features)
        for i, channels in ((1, conv_filters), (2, 1)):
            x = keras.layers.Conv2D(channels, conv_kernel_size, padding="same", name=f"conv{i}")(x)
            x = keras.layers.BatchNormalization(name=f"conv{i}_bn")(x)
            x = keras.layers.ReLU(name=f"conv{i}_relu")(x)
        x = keras.layers.Reshape((num_frames, num_features), name="drop_channel")(x)
        for i in range(1, num_rnn_layers + 1):
            x = bidirectional_rnn(rnn_class(rnn_units, return_sequences=True, unroll=bool(unroll),
                                            name=f"{rnn_type}{i}"), name=f"bi_{rnn_type}{i}")(x)
        frame = keras.layers.Cropping1D((query_index, num_frames - query_index - 1), name="query_frame")(x)
        frame = keras.layers.Flatten(name="query_frame_flat")(frame)
        query = keras.layers.Dense(2 * rnn_units, name="query")(frame)
        scores = keras.layers.Dot(axes=(2, 1), name="attention_scores")([x, query])  # [B, T]
        weights = keras.layers.Softmax(name="attention_weights")(scores)
        x = keras.layers.Dot(axes=(1, 1), name="attention_context")([weights, x])  # [B, 2 * units]
        for i, units in enumerate(dense_units, start=1):
            last = i == len(dense_units)
            x = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(x)
            x = keras.layers.Dense(units, activation=None if last else "relu",
                                   name="embedding" if last else f"dense{i}")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.conv_filters = conv_filters
        self.conv_kernel_size = conv_kernel_size
        self.rnn_type = rnn_type
        self.rnn_units = rnn_units
        self.num_rnn_layers = num_rnn_layers
        self.query_frame = query_frame
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
            "rnn_type": self.rnn_type,
            "rnn_units": self.rnn_units,
            "num_rnn_layers": self.num_rnn_layers,
            "query_frame": self.query_frame,
            "dense_units": list(self.dense_units),
            "dropout": self.dropout,
            "unroll": self.unroll,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
