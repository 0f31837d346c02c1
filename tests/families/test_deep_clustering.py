"""Deep clustering and the deep attractor network: losses against closed forms, k-means masks,
attractor masks, save/load, and a tiny overfit."""

import numpy as np
import pytest

from zoo.errors import ConfigError

SR = 8000


def brute_force_affinity(v, y, w):
    """sum_ij w_i w_j (v_i.v_j - y_i.y_j)^2 per example: the N x N form of the loss."""
    v, y, w = v.reshape(len(v), -1, v.shape[-1]), y.reshape(len(y), -1, y.shape[-1]), w.reshape(len(w), -1)
    out = []
    for b in range(len(v)):
        a = v[b] @ v[b].T - y[b] @ y[b].T
        out.append(np.sum(w[b][:, None] * w[b][None] * a**2))
    return np.array(out)


def test_deep_clustering_loss_equals_brute_force():
    from zoo.losses.embedding_loss import deep_clustering_loss

    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 6, 5, 4))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    y = np.eye(2)[rng.integers(0, 2, (3, 6, 5))]
    w = (rng.uniform(size=(3, 6, 5)) > 0.3).astype(float)
    expected = brute_force_affinity(v, y, w)
    got = deep_clustering_loss(v.astype("f4"), y.astype("f4"), w.astype("f4"), normalize=False).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    normalized = deep_clustering_loss(v.astype("f4"), y.astype("f4"), w.astype("f4")).numpy()
    np.testing.assert_allclose(normalized, expected / w.reshape(3, -1).sum(1) ** 2, rtol=1e-4)
    # unweighted == all-ones weights; silent bins (w = 0) do not count at all
    np.testing.assert_allclose(deep_clustering_loss(v, y, normalize=False).numpy(),
                               brute_force_affinity(v, y, np.ones((3, 6, 5))), rtol=1e-4)
    v2 = v.copy()
    v2[w == 0] = rng.normal(size=v2[w == 0].shape)
    np.testing.assert_allclose(deep_clustering_loss(v2, y, w, normalize=False).numpy(), expected, rtol=1e-4)


def test_deep_clustering_loss_is_zero_for_the_ideal_embedding():
    from zoo.losses.embedding_loss import deep_clustering_loss

    y = np.eye(3, dtype="f4")[np.random.default_rng(1).integers(0, 3, (2, 7, 9))]
    assert np.all(deep_clustering_loss(y, y).numpy() < 1e-6)
    assert np.all(deep_clustering_loss(y[..., ::-1], y).numpy() < 1e-6)  # permutation-free
    assert np.all(deep_clustering_loss(np.roll(y, 1, axis=2), y).numpy() > 0.1)


def test_deep_attractor_loss_closed_form():
    from zoo.losses.embedding_loss import deep_attractor_loss

    rng = np.random.default_rng(2)
    src = rng.uniform(size=(2, 5, 6, 2)).astype("f4")
    mix = src.sum(-1)
    ratio = src / mix[..., None]
    np.testing.assert_allclose(deep_attractor_loss(ratio, mix, src).numpy(), 0.0, atol=1e-6)
    half = np.full_like(src, 0.5)
    expected = np.sum((0.5 * mix[..., None] - src) ** 2, axis=(1, 2, 3)) / np.sum(mix**2, axis=(1, 2))
    np.testing.assert_allclose(deep_attractor_loss(half, mix, src).numpy(), expected, rtol=1e-5)


def two_tones(seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    s1 = 0.5 * np.sin(2 * np.pi * 440 * t)
    s2 = 0.3 * np.sin(2 * np.pi * 1500 * t + 0.3)
    return np.stack([s1, s2])


def test_kmeans_masks_separate_two_tones_with_oracle_like_embeddings():
    from zoo.families.separation.deep_clustering import spectral
    from zoo.families.separation.deep_clustering.kmeans import cluster_masks
    from zoo.metrics.separation import si_sdr

    src = two_tones()
    mix = src.sum(0)
    spec, parts = spectral.stft(mix), spectral.stft(src)
    ibm = spectral.ideal_binary_masks(parts)  # [T, K, 2]
    rng = np.random.default_rng(3)
    emb = np.concatenate([ibm, np.zeros(ibm.shape[:-1] + (6,))], -1) + 0.2 * rng.normal(size=ibm.shape[:-1] + (8,))
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    masks = cluster_masks(emb, 2, weights=spectral.active_bins(spec), seed=0)
    assert masks.shape == (2,) + spec.shape
    np.testing.assert_array_equal(masks.sum(0), 1.0)
    est = spectral.istft(masks * spec[None], len(mix))
    scores = si_sdr(src, est)
    assert np.all(scores > 20.0), scores
    mixture_scores = si_sdr(src, np.stack([mix, mix]), compute_permutation=False)
    assert np.all(mixture_scores < 6.0)


def test_kmeans_is_deterministic_and_finds_clusters():
    from zoo.families.separation.deep_clustering.kmeans import kmeans

    rng = np.random.default_rng(4)
    pts = np.concatenate([rng.normal(-3, 0.3, (50, 2)), rng.normal(3, 0.3, (70, 2))])
    centres, labels = kmeans(pts, 2, seed=5)
    assert sorted(np.bincount(labels).tolist()) == [50, 70]
    np.testing.assert_allclose(np.sort(centres[:, 0]), [-3, 3], atol=0.2)
    c2, l2 = kmeans(pts, 2, seed=5)
    np.testing.assert_array_equal(labels, l2)
    with pytest.raises(ConfigError, match="k must be a positive int"):
        kmeans(pts, 0)


def test_attractor_masks_shapes_softmax_and_attractors():
    from zoo.families.separation.deep_attractor.attractor_masks import AttractorMasks

    rng = np.random.default_rng(6)
    emb = rng.normal(size=(2, 4, 5, 3)).astype("f4")
    assign = np.eye(2, dtype="f4")[rng.integers(0, 2, (2, 4, 5))]
    weights = (rng.uniform(size=(2, 4, 5)) > 0.2).astype("f4")
    masks, attractors = AttractorMasks()(emb, assign, weights)
    masks, attractors = np.asarray(masks), np.asarray(attractors)
    assert masks.shape == (2, 4, 5, 2) and attractors.shape == (2, 2, 3)
    np.testing.assert_allclose(masks.sum(-1), 1.0, atol=1e-6)
    yw = assign * weights[..., None]
    expected = np.einsum("btks,btkd->bsd", yw, emb) / (yw.sum((1, 2))[..., None] + 1e-6)
    np.testing.assert_allclose(attractors, expected, rtol=1e-5, atol=1e-6)
    logits = np.einsum("btkd,bsd->btks", emb, expected)
    soft = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(masks, soft / soft.sum(-1, keepdims=True), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls_name", ["DeepClusteringEmbedder", "DeepAttractorNetwork"])
def test_save_load_round_trip(tmp_path, cls_name):
    import keras

    from zoo.families.separation.deep_attractor.deep_attractor_network import DeepAttractorNetwork
    from zoo.families.separation.deep_clustering.deep_clustering_embedder import DeepClusteringEmbedder

    cls = {"DeepClusteringEmbedder": DeepClusteringEmbedder, "DeepAttractorNetwork": DeepAttractorNetwork}[cls_name]
    model = cls(n_fft=64, hop=16, embedding_dim=5, lstm_units=8, num_layers=2, dropout=0.1)
    x = np.random.default_rng(7).normal(size=(2, 11, 33)).astype("f4")
    out = np.asarray(model(x))
    assert out.shape == (2, 11, 33, 5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-5)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is cls and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded(x)), out, atol=1e-6)
    est = loaded.separate(two_tones(0.25).sum(0), 2)
    assert est.shape == (2, SR // 4) and np.all(np.isfinite(est))


def test_bad_config_raises():
    from zoo.families.separation.deep_clustering.deep_clustering_embedder import DeepClusteringEmbedder

    with pytest.raises(ConfigError, match="embedding_dim must be a positive int"):
        DeepClusteringEmbedder(embedding_dim=0)
    with pytest.raises(ConfigError, match="n_fft must be even"):
        DeepClusteringEmbedder(n_fft=255)


def test_embedding_net_overfits_a_tiny_batch():
    import keras
    import tensorflow as tf

    from zoo.families.separation.deep_clustering import spectral
    from zoo.families.separation.deep_clustering.deep_clustering_embedder import DeepClusteringEmbedder
    from zoo.losses.embedding_loss import deep_clustering_loss

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(8)
    t = np.arange(2000) / SR
    mixes, parts = [], []
    for _ in range(4):  # two tones with random pitch and on/off gating
        f1, f2 = rng.uniform(200, 900), rng.uniform(1200, 3000)
        g1, g2 = (rng.uniform(size=(2, 2000)).cumsum(1) % 400 > 100)
        parts.append(np.stack([g1 * np.sin(2 * np.pi * f1 * t), 0.7 * g2 * np.sin(2 * np.pi * f2 * t)]))
        mixes.append(parts[-1].sum(0))
    x, s = spectral.stft(np.stack(mixes), 64, 16), spectral.stft(np.stack(parts), 64, 16)
    feats, y, w = spectral.log_magnitude(x), spectral.ideal_binary_masks(s), spectral.active_bins(x)
    model = DeepClusteringEmbedder(n_fft=64, hop=16, embedding_dim=4, lstm_units=16, num_layers=1)
    opt = keras.optimizers.Adam(1e-2)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(deep_clustering_loss(model(feats, training=True), y, w))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    losses = [float(step()) for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])
