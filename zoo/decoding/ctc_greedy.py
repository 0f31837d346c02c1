"""Greedy (best-path) CTC decoding inside the graph, with ops that TFLite runs as builtins."""

from __future__ import annotations

import tensorflow as tf

BLANK_ID = 0


def ctc_greedy(logits, logit_length=None):
    """Best path: argmax per frame, collapse repeats, drop blanks (id 0).

    Args:
        logits: float[B, T, V] scores, log-probabilities or probabilities (only argmax is used).
        logit_length: optional int i32[B], valid frames per row; frames after it are ignored.
    Returns:
        token_ids: i32[B, U] left-aligned, padded with 0, U = max(1, max(token_length)): at least
            one column, because TFLite's Python interpreter cannot read a zero-size output.
        token_length: i32[B].

    Ops: ARG_MAX, CUMSUM, SCATTER_ND, comparisons, SUM and slicing; no data-dependent loop, so it
    exports to a SavedModel and converts to TFLite builtins (the output shape is dynamic).
    """
    logits = tf.convert_to_tensor(logits)
    ids = tf.argmax(logits, axis=-1, output_type=tf.int32)  # [B, T]
    batch = tf.shape(ids)[0]
    frames = tf.shape(ids)[1]
    previous = tf.concat([tf.fill(tf.stack([batch, 1]), -1), ids[:, :-1]], axis=1)
    keep = tf.logical_and(tf.not_equal(ids, previous), tf.not_equal(ids, BLANK_ID))
    if logit_length is not None:
        valid = tf.range(frames)[None, :] < tf.cast(tf.reshape(logit_length, [-1, 1]), tf.int32)
        keep = tf.logical_and(keep, valid)
    keep_int = tf.cast(keep, tf.int32)
    token_length = tf.reduce_sum(keep_int, axis=1)
    # Kept tokens go to their rank among kept tokens; dropped frames to a spare column T.
    column = tf.where(keep, tf.cumsum(keep_int, axis=1) - 1, frames)
    row = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(ids))
    packed = tf.scatter_nd(tf.stack([row, column], axis=-1), tf.where(keep, ids, 0),
                           tf.stack([batch, frames + 1]))
    return packed[:, :tf.reduce_max(tf.concat([token_length, [1]], 0))], token_length
