"""Deep clustering embedding network (Hershey et al. 2016, "Deep clustering: discriminative
embeddings for segmentation and separation", ICASSP): log-magnitude STFT frames -> BLSTM -> a
unit-norm D-dim embedding per T-F bin; k-means on the embeddings gives binary masks."""

from __future__ import annotations

import keras
import numpy as np

from zoo.blocks.bidirectional import bidirectional_rnn
from zoo.errors import AudioError, ConfigError
from zoo.families.separation.deep_clustering import spectral
from zoo.families.separation.deep_clustering.kmeans import cluster_masks
from zoo.families.separation.deep_clustering.unit_normalize import UnitNormalize


def check_embedding_args(owner, n_fft, hop, embedding_dim, lstm_units, num_layers, dropout):
    for what, value in (("n_fft", n_fft), ("hop", hop), ("embedding_dim", embedding_dim),
                        ("lstm_units", lstm_units), ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{owner} {what} must be a positive int", received=repr(value))
    if n_fft % 2 or hop > n_fft:
        raise ConfigError(f"{owner} n_fft must be even and hop <= n_fft", received=(n_fft, hop),
                          expected="e.g. n_fft=256, hop=64")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ConfigError(f"{owner} dropout must be in [0, 1)", received=repr(dropout))


def embedding_graph(n_fft, embedding_dim, lstm_units, num_layers, dropout):
    """(input, output) of the shared graph: f32[B, T, K] log magnitudes -> f32[B, T, K, D] unit vectors."""
    bins = n_fft // 2 + 1
    features = keras.Input(shape=(None, bins), dtype="float32", name="log_magnitude")
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")(features)  # level-independent features
    for i in range(num_layers):
        x = bidirectional_rnn(keras.layers.LSTM(lstm_units, return_sequences=True), name=f"blstm{i}")(x)
        if dropout:
            x = keras.layers.Dropout(float(dropout), name=f"dropout{i}")(x)
    x = keras.layers.Dense(bins * embedding_dim, activation="tanh", name="embed")(x)
    x = keras.layers.Reshape((-1, bins, embedding_dim), name="embeddings_per_bin")(x)
    return features, UnitNormalize(name="embeddings")(x)


def check_mixture(mixture, n_fft) -> np.ndarray:
    x = np.asarray(mixture, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] < n_fft or not np.all(np.isfinite(x)):
        raise AudioError("mixture must be a finite mono waveform", received=f"shape {x.shape}",
                         expected=f"f[samples] with samples >= {n_fft}", fix="pass one channel (x[:, 0])")
    return x


@keras.saving.register_keras_serializable(package="zoo")
class DeepClusteringEmbedder(keras.Model):
    """Log magnitudes f32[B, T, K] ("log_magnitude", K = n_fft // 2 + 1) -> f32[B, T, K, D] ("embeddings").

    Per-frame layer norm -> num_layers BLSTMs -> Dense(K * D, tanh) -> unit norm per bin. Train
    with zoo.losses.embedding_loss.deep_clustering_loss; separate with `separate`.

    Args:
        n_fft: STFT frame (Hann window) the features come from; sets K.
        hop: STFT hop, used by `separate`.
        embedding_dim: D.
        lstm_units: units per direction.
        num_layers: stacked BLSTMs.
        dropout: after each BLSTM (training only).
    """

    def __init__(self, n_fft=256, hop=64, embedding_dim=20, lstm_units=128, num_layers=2, dropout=0.0, **kwargs):
        check_embedding_args(type(self).__name__, n_fft, hop, embedding_dim, lstm_units, num_layers, dropout)
        kwargs.setdefault("name", "deep_clustering_embedder")
        features, embeddings = embedding_graph(n_fft, embedding_dim, lstm_units, num_layers, dropout)
        super().__init__(inputs=features, outputs=embeddings, **kwargs)
        self.n_fft = n_fft
        self.hop = hop
        self.embedding_dim = embedding_dim
        self.lstm_units = lstm_units
        self.num_layers = num_layers
        self.dropout = float(dropout)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "n_fft": self.n_fft, "hop": self.hop,
                "embedding_dim": self.embedding_dim, "lstm_units": self.lstm_units,
                "num_layers": self.num_layers, "dropout": self.dropout}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def separate(self, mixture, num_sources=2, *, threshold_db=40.0, seed=0):
        """f64[num_sources, samples]: k-means on the active bins' embeddings -> binary masks -> iSTFT."""
        x = check_mixture(mixture, self.n_fft)
        spec = spectral.stft(x, self.n_fft, self.hop)
        emb = np.asarray(self.predict_on_batch(spectral.log_magnitude(spec)[None]))[0]  # [T, K, D]
        weights = spectral.active_bins(spec, threshold_db)
        masks = cluster_masks(emb, num_sources, weights=weights, seed=seed)
        return spectral.istft(masks * spec[None], len(x), self.n_fft, self.hop)
