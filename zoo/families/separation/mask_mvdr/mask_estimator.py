"""Single-channel speech and noise mask network for mask-based MVDR (Heymann et al. 2016, "Neural
network based spectral mask estimation for acoustic beamforming", ICASSP)."""

from __future__ import annotations

import keras
import numpy as np

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import AudioError, ConfigError
from zoo.families.separation.deep_clustering import spectral
from zoo.families.separation.mask_mvdr.mvdr import mask_mvdr


@keras.saving.register_keras_serializable(package="zoo")
class MaskEstimator(keras.Model):
    """Log magnitudes f32[B, T, K] ("log_magnitude") -> masks f32[B, T, K, 2] ("masks": speech, noise).

    Per-frame layer norm -> num_layers BLSTMs -> Dense(2K, sigmoid). Trained with binary cross
    entropy on ideal binary masks of one channel; `enhance` runs it on every channel, averages
    the masks and beamforms (mvdr.mask_mvdr).

    Args:
        n_fft: STFT frame (Hann window); sets K = n_fft // 2 + 1.
        hop: STFT hop.
        lstm_units: units per direction.
        num_layers: stacked BLSTMs.
        dropout: after each BLSTM (training only).
    """

    def __init__(self, n_fft=512, hop=128, lstm_units=128, num_layers=1, dropout=0.0, **kwargs):
        for what, value in (("n_fft", n_fft), ("hop", hop), ("lstm_units", lstm_units), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"MaskEstimator {what} must be a positive int", received=repr(value))
        if n_fft % 2 or hop > n_fft:
            raise ConfigError("MaskEstimator n_fft must be even and hop <= n_fft", received=(n_fft, hop),
                              expected="e.g. 512 and 128")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ConfigError("MaskEstimator dropout must be in [0, 1)", received=repr(dropout))
        kwargs.setdefault("name", "mask_estimator")
        bins = n_fft // 2 + 1
        features = keras.Input(shape=(None, bins), dtype="float32", name="log_magnitude")
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")(features)
        for i in range(num_layers):
            x = bidirectional_rnn(keras.layers.LSTM(lstm_units, return_sequences=True), name=f"blstm{i}")(x)
            if dropout:
                x = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(x)
        x = keras.layers.Dense(2 * bins, activation="sigmoid", name="dense_masks")(x)
        masks = keras.layers.Reshape((-1, 2, bins), name="masks_per_kind")(x)
        masks = keras.layers.Permute((1, 3, 2), name="masks")(masks)
        super().__init__(inputs=features, outputs=masks, **kwargs)
        self.n_fft = n_fft
        self.hop = hop
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.dropout = float(dropout)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "n_fft": self.n_fft, "hop": self.hop,
                "lstm_units": self.lstm_units, "num_layers": self.num_layers, "dropout": self.dropout}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def channel_masks(self, multichannel):
        """(speech f32[T, K], noise f32[T, K]): the network's masks averaged over the channels of f[C, samples]."""
        x = np.asarray(multichannel, dtype=np.float64)
        if x.ndim != 2 or not np.all(np.isfinite(x)):
            raise AudioError("multichannel waveform must be finite [C, samples]", received=f"shape {x.shape}",
                             expected="[C, samples]", fix="transpose soundfile's [samples, C] output")
        masks = np.asarray(self.predict_on_batch(spectral.log_magnitude(spectral.stft(x, self.n_fft, self.hop))))
        mean = masks.mean(axis=0)
        return mean[..., 0], mean[..., 1]

    def enhance(self, multichannel, reference=0):
        """f64[samples]: mask-based MVDR estimate of the speech at microphone `reference`."""
        speech, noise = self.channel_masks(multichannel)
        return mask_mvdr(multichannel, speech, noise, n_fft=self.n_fft, hop=self.hop, reference=reference)
