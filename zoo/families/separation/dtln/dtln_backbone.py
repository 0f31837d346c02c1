"""DTLN backbone (Westhausen & Meyer 2020, "Dual-Signal Transformation LSTM Network for Real-Time
Noise Suppression", Interspeech, arXiv:2005.07551)."""

from __future__ import annotations

import keras

from zoo.blocks.frame_signal import FrameSignal
from zoo.blocks.log_magnitude import LogMagnitude
from zoo.blocks.masked_inverse_dft import MaskedInverseDFT
from zoo.blocks.overlap_add import OverlapAdd
from zoo.blocks.real_dft import RealDFT
from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class DTLNBackbone(keras.Model):
    """Noisy waveform f32[B, T'] ("mixture") -> enhanced f32[B, 1, T'] ("sources").

    Frames of frame_length samples every frame_step. Stage 1: real DFT -> log magnitude -> per-frame
    layer norm -> num_layers LSTMs -> sigmoid mask on the DFT bins -> inverse DFT (mixture phase).
    Stage 2: a learned basis (linear map to encoder_size) -> per-frame layer norm -> num_layers
    LSTMs -> sigmoid mask on the (unnormalized) encoding -> linear map back to frame_length samples
    -> overlap-add. Everything is per frame or a unidirectional LSTM, so the model is causal and
    streams frame by frame (`stream_layers` hands the layers to the streaming export).
    Differences from the paper: log-magnitude input with per-frame norm in stage 1 (robust to the
    input level); the DFT is a constant matrix product (TFLite builtins).

    Args:
        frame_length: samples per frame (even); the algorithmic latency.
        frame_step: hop in samples; must divide frame_length.
        lstm_units: units of every LSTM (the paper: 128).
        num_layers: LSTMs per stage (the paper: 2).
        encoder_size: learned-basis size of stage 2 (the paper: 256).
        dropout: dropout between LSTMs (training only; the paper: 0.25).
    """

    def __init__(self, frame_length=512, frame_step=128, lstm_units=128, num_layers=2, encoder_size=256,
                 dropout=0.0, **kwargs):
        for what, value in (("frame_length", frame_length), ("frame_step", frame_step), ("lstm_units", lstm_units),
                            ("num_layers", num_layers), ("encoder_size", encoder_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DTLNBackbone {what} must be a positive int", received=value)
        if frame_length % 2 or frame_length % frame_step:
            raise ConfigError("DTLNBackbone frame_length must be even and a multiple of frame_step",
                              received=(frame_length, frame_step), expected="e.g. 512 and 128")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("DTLNBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "dtln_backbone")
        bins = frame_length // 2 + 1
        layers = {
            "dft": RealDFT(frame_length, name="dft"),
            "log_magnitude": LogMagnitude(name="log_magnitude"),
            "norm1": keras.layers.LayerNormalization(epsilon=1e-7, name="stage1_norm"),
            "lstm1": [keras.layers.LSTM(lstm_units, return_sequences=True, name=f"stage1_lstm{i}")
                      for i in range(num_layers)],
            "mask1": keras.layers.Dense(bins, activation="sigmoid", name="stage1_mask"),
            "idft": MaskedInverseDFT(frame_length, name="stage1_idft"),
            "encoder": keras.layers.Dense(encoder_size, use_bias=False, name="stage2_encoder"),
            "norm2": keras.layers.LayerNormalization(epsilon=1e-7, name="stage2_norm"),
            "lstm2": [keras.layers.LSTM(lstm_units, return_sequences=True, name=f"stage2_lstm{i}")
                      for i in range(num_layers)],
            "mask2": keras.layers.Dense(encoder_size, activation="sigmoid", name="stage2_mask"),
            "masked": keras.layers.Multiply(name="stage2_masked"),
            "decoder": keras.layers.Dense(frame_length, use_bias=False, name="stage2_decoder"),
        }
        drop = [keras.layers.Dropout(float(dropout), name=f"lstm_dropout{i}") for i in range(2 * num_layers)]

        mixture = keras.Input(shape=(None,), dtype="float32", name="mixture")
        frames = FrameSignal(frame_length, frame_step, name="frames")(mixture)
        spectrum = layers["dft"](frames)
        x = layers["norm1"](layers["log_magnitude"](spectrum))
        for i, lstm in enumerate(layers["lstm1"]):
            x = lstm(x)
            if i < num_layers - 1:
                x = drop[i](x)
        y1 = layers["idft"](spectrum, layers["mask1"](x))
        encoded = layers["encoder"](y1)
        x = layers["norm2"](encoded)
        for i, lstm in enumerate(layers["lstm2"]):
            x = lstm(x)
            if i < num_layers - 1:
                x = drop[num_layers + i](x)
        decoded = layers["decoder"](layers["masked"]([encoded, layers["mask2"](x)]))
        decoded = keras.layers.Reshape((1, -1, frame_length), name="one_source")(decoded)
        sources = OverlapAdd(frame_step, name="sources")(decoded)
        super().__init__(inputs=mixture, outputs=sources, **kwargs)

        self.frame_length = frame_length
        self.frame_step = frame_step
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.encoder_size = encoder_size
        self.dropout = float(dropout)
        self.num_sources = 1
        self.stream_layers = layers

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "lstm_units": self.lstm_units,
            "num_layers": self.num_layers,
            "encoder_size": self.encoder_size,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
