"""RNN-T loss (Graves 2012, "Sequence transduction with recurrent neural networks") in core TF ops.

The forward variable alpha(t, u) = log p(emit y_1..y_u within frames 0..t, now at frame t) obeys

    alpha(0, 0) = 0
    alpha(t, u) = logaddexp(alpha(t-1, u) + blank(t-1, u), alpha(t, u-1) + emit(t, u-1))
    -log p(y | x) = -(alpha(T-1, U) + blank(T-1, U))

where blank(t, u) = log P(blank | t, u) and emit(t, u) = log P(y_{u+1} | t, u). Every node on the
anti-diagonal n = t + u depends only on diagonal n - 1, so the recursion runs as one tf.scan over
the T + U - 1 diagonals, each step vectorised over the batch and u; the inputs are gathered into
that skewed layout once up front. Unlike a cumulative log-sum-exp along u, this never subtracts
large partial sums, so float32 keeps its precision on long label sequences.
Padding frames (t >= logit_length) and padding labels (u >= label_length) are never read on the
path to the utterance's final node, so variable lengths need no masking. Autodiff through the
scan gives the gradient (TF's while-loop gradient); the loss is float32 or float64, as the logits.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.losses import _inputs

BLANK_ID = 0
# Log-probability of an unreachable node: finite so that log-add-exp and its gradient stay finite.
_NEG = -1e30


def _logaddexp(a, b):
    m = tf.stop_gradient(tf.maximum(a, b))  # d/dm cancels exactly; keeps exp() arguments <= 0
    return m + tf.math.log(tf.exp(a - m) + tf.exp(b - m))


def _skew(x, num_diagonals, neg):
    """x [B, T, K] -> [N, B, K] with out[n, b, k] = x[b, n - k, k] (neg where n - k is outside [0, T))."""
    t_len = tf.shape(x)[1]
    k_len = tf.shape(x)[2]
    t_idx = tf.range(num_diagonals)[None, :] - tf.range(k_len)[:, None]  # [K, N]
    valid = (t_idx >= 0) & (t_idx < t_len)
    idx = tf.clip_by_value(t_idx, 0, tf.maximum(t_len - 1, 0))
    xt = tf.transpose(x, [0, 2, 1])  # [B, K, T]
    idx = tf.broadcast_to(idx[None], tf.stack([tf.shape(x)[0], k_len, num_diagonals]))
    out = tf.gather(xt, idx, batch_dims=2)  # [B, K, N]
    out = tf.where(valid[None], out, neg)
    return tf.transpose(out, [2, 0, 1])


def rnnt_loss(labels, logits, label_length, logit_length):
    """Per-utterance negative log-likelihood -log p(labels | joint logits), float[B].

    Args:
        labels: int i32[B, U], dense, left-aligned, ids in [1, V) (0 is the blank); entries at or
            after label_length are ignored (any value may pad them).
        logits: float32 or float64 [B, T, U + 1, V] joint network outputs, unnormalised.
        label_length: int i32[B] in [0, U].
        logit_length: int i32[B] in [1, T]; a row with 0 frames gets an infinite loss.
    """
    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    logit_length = tf.cast(logit_length, tf.int32)
    if logits.shape.rank is not None and logits.shape.rank != 4:
        raise ConfigError("rnnt_loss: logits must be joint outputs [B, T, U + 1, V]",
                          received=f"shape {logits.shape}", expected="rank 4",
                          fix="evaluate the joint network on every (frame, label prefix) pair")
    if logits.shape[2] is not None and labels.shape[1] is not None \
            and logits.shape[2] != labels.shape[1] + 1:
        raise ConfigError("rnnt_loss: logits and labels disagree on the label axis",
                          received=f"logits {logits.shape}, labels {labels.shape}",
                          expected="logits.shape[2] == labels.shape[1] + 1",
                          fix="run the prediction network on [blank] + labels (U + 1 steps)")
    dtype = logits.dtype
    neg = tf.constant(_NEG, dtype)
    batch = tf.shape(logits)[0]
    t_len = tf.shape(logits)[1]
    u_len = tf.shape(labels)[1]
    # Padding ids (e.g. -1) are replaced so that the gather below stays in range.
    labels = tf.where(tf.range(u_len)[None, :] < label_length[:, None], labels, BLANK_ID)

    # Normalise by gathering first: the full log_softmax [B, T, U+1, V] is never materialised.
    lse = tf.reduce_logsumexp(logits, axis=-1)  # [B, T, U+1]
    blank = logits[..., BLANK_ID] - lse
    targets = tf.broadcast_to(labels[:, None, :], tf.stack([batch, t_len, u_len]))
    emit = tf.gather(logits[:, :, :-1, :], targets, batch_dims=3) - lse[:, :, :-1]  # [B, T, U]

    num_diag = t_len + u_len
    blank_skew = _skew(blank, num_diag, neg)  # [N, B, U+1]
    emit_skew = _skew(emit, num_diag, neg)  # [N, B, U]

    first = tf.concat([tf.zeros([batch, 1], dtype), tf.fill(tf.stack([batch, u_len]), neg)], axis=1)

    def step(prev, inputs):
        blank_prev, emit_prev = inputs
        stay = prev + blank_prev  # (t-1, u) -> (t, u)
        move = tf.concat([tf.fill(tf.stack([batch, 1]), neg), prev[:, :-1] + emit_prev], axis=1)
        return tf.maximum(_logaddexp(stay, move), neg)  # keep unreachable nodes at neg, not -2e30

    alphas = tf.scan(step, (blank_skew[:-1], emit_skew[:-1]), initializer=first)  # [N-1, B, U+1]
    alphas = tf.concat([first[None], alphas], axis=0)  # [N, B, U+1]

    last_t = tf.maximum(logit_length - 1, 0)
    rows = tf.range(batch)
    final_alpha = tf.gather_nd(alphas, tf.stack([last_t + label_length, rows, label_length], axis=1))
    final_blank = tf.gather_nd(blank, tf.stack([rows, last_t, label_length], axis=1))
    loss = -(final_alpha + final_blank)
    return tf.where(logit_length > 0, loss, tf.constant(float("inf"), dtype))


@keras.saving.register_keras_serializable(package="zoo")
class RNNTLoss(_inputs.SequenceLoss):
    """Keras RNN-T loss over joint logits (blank id 0), computed by `rnnt_loss`.

    y_true: labels i32[B, U] padded with `pad_id` (default 0, the blank), or
        {"labels": i32[B, U], "label_length": i32[B]}; without label_length a row's length is its
        number of entries different from pad_id (padding must be trailing).
    y_pred: joint logits float32[B, T, U + 1, V], or {"logits": ..., "logit_length": i32[B]}; without
        logit_length every frame counts, unless y_pred carries a Keras mask (frames with any true
        entry count).
    Returns the per-utterance loss f32[B] reduced by `reduction`.

    Args:
        pad_id: label padding value (int).
        name, reduction, dtype: as keras.losses.Loss.
    """

    loss_fn = staticmethod(rnnt_loss)

    def __init__(self, pad_id=0, name="rnnt_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(pad_id=pad_id, name=name, reduction=reduction, dtype=dtype)
