"""Deep attractor network (Chen, Luo and Mesgarani 2017, "Deep attractor network for single-microphone
speaker separation", ICASSP): the deep clustering embedding net, trained through attractor masks to
reconstruct the source magnitudes."""

from __future__ import annotations

import keras
import numpy as np

from zoo.families.separation.deep_attractor.attractor_masks import AttractorMasks
from zoo.families.separation.deep_clustering import spectral
from zoo.families.separation.deep_clustering.deep_clustering_embedder import DeepClusteringEmbedder, check_mixture
from zoo.families.separation.deep_clustering.kmeans import kmeans


@keras.saving.register_keras_serializable(package="zoo")
class DeepAttractorNetwork(DeepClusteringEmbedder):
    """Log magnitudes f32[B, T, K] ("log_magnitude") -> embeddings f32[B, T, K, D] ("embeddings"):
    the deep clustering embedding net (same args and config), used through attractors.

    Training: attractors = mean embeddings of the ideal-binary-mask bins, masks = softmax(V A^T),
    loss = zoo.losses.embedding_loss.deep_attractor_loss (magnitude reconstruction; no permutation
    since the attractors follow the oracle's source order). Test: attractors = k-means centres
    (`separate`).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("name", "deep_attractor_network")
        super().__init__(*args, **kwargs)
        self.attractor_masks = AttractorMasks(name="attractor_masks")

    def oracle_masks(self, log_magnitude, assignments, weights, training=False):
        """(masks f32[B, T, K, S], attractors f32[B, S, D]) with attractors from the given assignments."""
        return self.attractor_masks(self(log_magnitude, training=training), assignments, weights)

    def separate(self, mixture, num_sources=2, *, threshold_db=40.0, seed=0):
        """f64[num_sources, samples]: k-means centres of the active bins as attractors -> soft masks -> iSTFT."""
        x = check_mixture(mixture, self.n_fft)
        spec = spectral.stft(x, self.n_fft, self.hop)
        emb = np.asarray(self.predict_on_batch(spectral.log_magnitude(spec)[None]))  # [1, T, K, D]
        weights = spectral.active_bins(spec, threshold_db)
        centres, _ = kmeans(emb.reshape(-1, emb.shape[-1]), num_sources, weights=weights.reshape(-1), seed=seed)
        masks = np.asarray(AttractorMasks.masks_from_attractors(emb, centres[None].astype(np.float32)))[0]
        return spectral.istft(np.moveaxis(masks, -1, 0) * spec[None], len(x), self.n_fft, self.hop)
