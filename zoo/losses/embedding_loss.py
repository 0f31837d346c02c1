"""Losses of the embedding separation families: the deep clustering affinity loss (Hershey et al.
2016) and the deep attractor network's reconstruction loss (Chen et al. 2017). Functions of
tensors returning f32[B]."""

from __future__ import annotations

import tensorflow as tf

from zoo.errors import ConfigError


def _flat(x, last):
    x = tf.convert_to_tensor(x, tf.float32)
    return tf.reshape(x, [tf.shape(x)[0], -1, last])


def deep_clustering_loss(embeddings, assignments, weights=None, normalize=True):
    """||W^1/2 (V V^T - Y Y^T) W^1/2||_F^2 per example, f32[B], without forming the N x N affinities.

    embeddings f32[B, ..., D] (V, one row per T-F bin), assignments f32[B, ..., S] (Y, one-hot ideal
    binary masks), weights f32[B, ...] (W, 0 for silent bins; default all ones). With V' = W^1/2 V and
    Y' = W^1/2 Y the loss is ||V'^T V'||^2 - 2 ||V'^T Y'||^2 + ||Y'^T Y'||^2: O(N D^2), not O(N^2).
    normalize divides by (sum W)^2, so utterances of any length weigh alike.
    """
    v = tf.convert_to_tensor(embeddings, tf.float32)
    y = tf.convert_to_tensor(assignments, tf.float32)
    if v.shape.rank is not None and y.shape.rank is not None and v.shape.rank != y.shape.rank:
        raise ConfigError("deep_clustering_loss: embeddings and assignments differ in rank",
                          received=f"{v.shape} vs {y.shape}", expected="[B, ..., D] and [B, ..., S]",
                          fix="one-hot the assignments on the last axis")
    v = _flat(v, v.shape[-1])
    y = _flat(y, y.shape[-1])
    w = tf.ones(tf.shape(v)[:2]) if weights is None else tf.reshape(tf.cast(weights, tf.float32),
                                                                     tf.shape(v)[:2])
    root = tf.sqrt(w)[..., None]
    v, y = v * root, y * root
    vv = tf.matmul(v, v, transpose_a=True)
    vy = tf.matmul(v, y, transpose_a=True)
    yy = tf.matmul(y, y, transpose_a=True)
    loss = (tf.reduce_sum(tf.square(vv), axis=[1, 2]) - 2.0 * tf.reduce_sum(tf.square(vy), axis=[1, 2])
            + tf.reduce_sum(tf.square(yy), axis=[1, 2]))
    if normalize:
        loss = loss / tf.maximum(tf.square(tf.reduce_sum(w, axis=1)), 1.0)
    return loss


def deep_attractor_loss(masks, mixture_magnitude, source_magnitudes, weights=None, eps=1e-8):
    """sum_s ||M_s |X| - |S_s|||^2 / sum |X|^2 per example, f32[B] (level-independent).

    masks f32[B, T, K, S], mixture_magnitude f32[B, T, K], source_magnitudes f32[B, T, K, S] in the
    masks' source order; weights f32[B, T, K] (optional) restrict the sums.
    """
    m = tf.convert_to_tensor(masks, tf.float32)
    x = tf.convert_to_tensor(mixture_magnitude, tf.float32)
    s = tf.convert_to_tensor(source_magnitudes, tf.float32)
    w = tf.ones_like(x) if weights is None else tf.cast(weights, tf.float32)
    err = tf.reduce_sum(tf.square(m * x[..., None] - s), axis=-1) * w
    return tf.reduce_sum(err, axis=[1, 2]) / (tf.reduce_sum(tf.square(x) * w, axis=[1, 2]) + eps)
