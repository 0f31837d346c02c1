"""BLSTM T-F mask estimator: DFT magnitude -> BLSTM -> one mask per source (Erdogan et al. 2015,
phase-sensitive masks; Kolbaek et al. 2017, utterance-level PIT)."""

from __future__ import annotations

import keras

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.blocks.frame_signal import FrameSignal
from zoo.blocks.log_magnitude import LogMagnitude
from zoo.blocks.masked_inverse_dft import MaskedInverseDFT
from zoo.blocks.overlap_add import OverlapAdd
from zoo.blocks.real_dft import RealDFT
from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class BLSTMMaskBackbone(keras.Model):
    """Mixture f32[B, T'] ("mixture") -> sources f32[B, S, T'] ("sources").

    Frames of frame_length every frame_step (rectangular analysis; overlap-add scaled by
    frame_step / frame_length reconstructs the mixture exactly for all-one masks) -> real DFT ->
    log magnitude -> per-frame layer norm -> num_layers BLSTMs -> Dense + sigmoid: S masks on
    the DFT bins -> masked inverse DFT (mixture phase) -> overlap-add. The training target (IRM-like
    magnitude or phase-sensitive) is chosen by the loss on the masked outputs (SpectralMSE mode).

    Args:
        num_sources: S.
        frame_length: samples per frame (even), a multiple of frame_step.
        frame_step: hop in samples.
        lstm_units: units per direction.
        num_layers: stacked BLSTMs.
        dropout: between BLSTMs (training only).
    """

    def __init__(self, num_sources=2, frame_length=256, frame_step=64, lstm_units=128, num_layers=2, dropout=0.0,
                 **kwargs):
        for what, value in (("num_sources", num_sources), ("frame_length", frame_length),
                            ("frame_step", frame_step), ("lstm_units", lstm_units), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"BLSTMMaskBackbone {what} must be a positive int", received=value)
        if frame_length % 2 or frame_length % frame_step:
            raise ConfigError("BLSTMMaskBackbone frame_length must be even and a multiple of frame_step",
                              received=(frame_length, frame_step), expected="e.g. 256 and 64")
        kwargs.setdefault("name", "blstm_mask_backbone")
        bins = frame_length // 2 + 1
        mixture = keras.Input(shape=(None,), dtype="float32", name="mixture")
        frames = FrameSignal(frame_length, frame_step, name="frames")(mixture)
        spectrum = RealDFT(frame_length, name="dft")(frames)  # [B, F, 2, K]
        x = keras.layers.LayerNormalization(epsilon=1e-7, name="norm")(LogMagnitude(name="log_magnitude")(spectrum))
        for i in range(num_layers):
            x = bidirectional_rnn(keras.layers.LSTM(lstm_units, return_sequences=True), name=f"blstm{i}")(x)
            if i < num_layers - 1:
                x = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(x)
        masks = keras.layers.Dense(num_sources * bins, activation="sigmoid", name="masks")(x)
        masks = keras.layers.Reshape((-1, num_sources, bins), name="masks_per_source")(masks)
        masks = keras.layers.Permute((2, 1, 3), name="masks_sources_first")(masks)  # [B, S, F, K]
        spectrum = keras.layers.Reshape((1, -1, 2, bins), name="spectrum_one_source")(spectrum)
        frames_out = MaskedInverseDFT(frame_length, name="idft")(spectrum, masks)  # [B, S, F, L]
        sources = OverlapAdd(frame_step, name="overlap_add")(frames_out)
        sources = keras.layers.Rescaling(frame_step / frame_length, name="sources")(sources)
        super().__init__(inputs=mixture, outputs=sources, **kwargs)
        self.num_sources = num_sources
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.dropout = float(dropout)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "num_sources": self.num_sources,
                "frame_length": self.frame_length, "frame_step": self.frame_step, "lstm_units": self.lstm_units,
                "num_layers": self.num_layers, "dropout": self.dropout}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
