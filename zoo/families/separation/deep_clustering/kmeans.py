"""Seeded k-means (k-means++ start, Lloyd iterations) on embeddings; numpy, deterministic."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError


def _sq_distances(x, centres):
    """f64[N, k] squared distances via ||x||^2 - 2 x.c + ||c||^2 (no [N, k, D] temporary)."""
    d2 = (x * x).sum(1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(1)[None]
    return np.maximum(d2, 0.0)


def kmeans(points, k=2, *, weights=None, iterations=20, restarts=3, seed=0):
    """(centres f64[k, D], labels i64[N]) minimising the weighted within-cluster squared distance.

    points f[N, D]; weights f[N] (0 = ignored when fitting, still labelled: silent bins get the
    nearest centre). `restarts` k-means++ starts from rng(seed); the best inertia wins.
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ConfigError("kmeans points must be [N, D] with N >= 1", received=f"shape {x.shape}", expected="[N, D]")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError("kmeans k must be a positive int", received=repr(k), expected="e.g. 2")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != x.shape[0]:
        raise ConfigError("kmeans weights must have one value per point", received=w.shape, expected=(x.shape[0],))
    fit = x[w > 0] if np.any(w > 0) else x
    fw = w[w > 0] if np.any(w > 0) else np.ones(len(x))
    if len(fit) < k:
        raise ConfigError("kmeans needs at least k weighted points", received=len(fit), expected=f">= {k}")
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(restarts):
        centres = fit[[rng.choice(len(fit), p=fw / fw.sum())]]
        for _ in range(1, k):  # k-means++: the next centre far from the chosen ones
            d2 = np.min(_sq_distances(fit, centres), axis=1) * fw
            p = d2 / d2.sum() if d2.sum() > 0 else fw / fw.sum()
            centres = np.vstack([centres, fit[rng.choice(len(fit), p=p)]])
        for _ in range(iterations):
            d2 = _sq_distances(fit, centres)
            labels = np.argmin(d2, axis=1)
            new = centres.copy()
            for j in range(k):
                sel = labels == j
                if np.any(sel):
                    new[j] = (fit[sel] * fw[sel, None]).sum(0) / fw[sel].sum()
            if np.allclose(new, centres):
                break
            centres = new
        inertia = float((np.min(_sq_distances(fit, centres), axis=1) * fw).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centres)
    centres = best[1]
    labels = np.argmin(_sq_distances(x, centres), axis=1)
    return centres, labels


def cluster_masks(embeddings, num_sources=2, *, weights=None, seed=0):
    """f64[S, ...] binary masks: bins labelled by k-means on embeddings f[..., D] (weights f[...])."""
    emb = np.asarray(embeddings, dtype=np.float64)
    _, labels = kmeans(emb.reshape(-1, emb.shape[-1]), num_sources,
                       weights=None if weights is None else np.asarray(weights).reshape(-1), seed=seed)
    labels = labels.reshape(emb.shape[:-1])
    return (labels[None] == np.arange(num_sources).reshape((-1,) + (1,) * labels.ndim)).astype(np.float64)
