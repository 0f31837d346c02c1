"""Fully connected keyword-spotting backbone (Chen, Parada & Heigold 2014, ICASSP)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class DNNBackbone(keras.Model):
    """Stacked frames -> ReLU fully connected layers.

    Chen et al. 2014 feed a window of stacked frames to 3 hidden layers of 128 ReLUs; here the
    window is the whole clip. Average pooling by `time_pool` x `feature_pool` first shrinks the
    stacked vector (the first Dense holds most of the weights), e.g. 40 mel bands / 4 ~ 10 bands
    like the 10 MFCCs of Hello Edge's DNN.

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        hidden_units: widths of the hidden ReLU layers.
        time_pool, feature_pool: average-pooling factors before stacking (1 = none).
        dropout: dropout between hidden layers (training only).
    Output: embedding [B, hidden_units[-1]].
    """

    def __init__(self, num_frames, num_features, hidden_units=(128, 128, 128), time_pool=1, feature_pool=1,
                 dropout=0.0, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("time_pool", time_pool), ("feature_pool", feature_pool)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"DNNBackbone {what} must be a positive int", received=value)
        hidden_units = list(hidden_units)
        if not hidden_units or not all(isinstance(u, int) and u >= 1 for u in hidden_units):
            raise ConfigError("DNNBackbone hidden_units must be a non-empty list of positive ints",
                              received=hidden_units, expected="e.g. [128, 128, 128]")
        if time_pool > num_frames or feature_pool > num_features:
            raise ConfigError("DNNBackbone pooling is larger than the feature map",
                              received=(time_pool, feature_pool), expected=f"<= {(num_frames, num_features)}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("DNNBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "dnn_backbone")

        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        # Per-band normalisation: log-mel values sit far from zero (silence ~ -14), which stalls a
        # plain MLP (measured: 35% training accuracy without it).
        x = keras.layers.BatchNormalization(axis=-1, name="input_norm")(features)
        if time_pool > 1 or feature_pool > 1:
            x = keras.layers.Reshape((num_frames, num_features, 1), name="add_channel")(x)
            x = keras.layers.AveragePooling2D((time_pool, feature_pool), name="stack_pool")(x)
        x = keras.layers.Flatten(name="stack")(x)
        for i, units in enumerate(hidden_units, start=1):
            if i > 1:
                x = keras.layers.Dropout(float(dropout), name=f"dropout{i - 1}")(x)
            x = keras.layers.Dense(units, name=f"dense{i}")(x)
            x = keras.layers.ReLU(name=f"relu{i}" if i < len(hidden_units) else "embedding")(x)
        super().__init__(inputs=features, outputs=x, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.hidden_units = hidden_units
        self.time_pool = time_pool
        self.feature_pool = feature_pool
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "num_features": self.num_features,
            "hidden_units": list(self.hidden_units),
            "time_pool": self.time_pool,
            "feature_pool": self.feature_pool,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
