"""CTC loss (Graves et al. 2006) over batch-major logits, blank id 0, as a function and a Keras loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.losses import _inputs

BLANK_ID = 0


def ctc_loss(labels, logits, label_length, logit_length):
    """Per-utterance negative log-likelihood -log p(labels | logits), float[B].

    Args:
        labels: int i32[B, U], dense, left-aligned; entries at or after label_length are ignored.
            Ids are in [1, V); id 0 is the blank and never a label.
        logits: float32[B, T, V] unnormalised scores (batch-major; softmax taken inside).
        label_length: int i32[B], number of valid labels per row.
        logit_length: int i32[B], number of valid frames per row (<= T).

    An utterance whose labels cannot be aligned in logit_length frames (too short for the labels
    and their mandatory blanks between repeats) gets about 709 (exp(-709) is float's floor), not an
    infinite loss: tf.nn.ctc_loss's value, kept as is; callers that may see such rows mask them
    with ctc_alignable.
    """
    return tf.nn.ctc_loss(labels=tf.cast(labels, tf.int32), logits=logits,
                          label_length=tf.cast(label_length, tf.int32),
                          logit_length=tf.cast(logit_length, tf.int32),
                          logits_time_major=False, blank_index=BLANK_ID)


def ctc_alignable(labels, label_length, logit_length):
    """bool[B]: whether each row's labels fit its frames, one frame per label plus one blank between
    each pair of equal neighbours (CTC's shortest path); ctc_loss is ~709 for a row that does not."""
    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    valid = tf.range(tf.shape(labels)[1])[None, :] < label_length[:, None]
    repeats = tf.reduce_sum(tf.cast(tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]), valid[:, 1:]), tf.int32),
                            axis=1)
    return label_length + repeats <= tf.cast(logit_length, tf.int32)


def masked_ctc_loss(labels, logits, label_length, logit_length):
    """ctc_loss, but 0 for a row whose labels cannot be aligned in its frames (an auxiliary CTC term
    on a downsampled encoder meets such rows; their ~709 would swamp the batch's loss)."""
    label_length = tf.cast(label_length, tf.int32)
    alignable = ctc_alignable(labels, label_length, logit_length)
    # an unalignable row is scored on no labels (finite gradients), then dropped
    loss = ctc_loss(labels, logits, tf.where(alignable, label_length, 0), logit_length)
    return tf.where(alignable, loss, 0.0)


@keras.saving.register_keras_serializable(package="zoo")
class CTCLoss(_inputs.SequenceLoss):
    """Keras CTC loss wrapping tf.nn.ctc_loss (logits_time_major=False, blank id 0).

    y_true: labels i32[B, U] padded with `pad_id` (default 0, the blank, which no label uses), or
        {"labels": i32[B, U], "label_length": i32[B]}. Without label_length the length of a row is
        its number of entries different from pad_id, so padding must be trailing.
    y_pred: logits float32[B, T, V], or {"logits": f32[B, T, V], "logit_length": i32[B]}. Without
        logit_length every frame counts, unless y_pred carries a Keras mask [B, T], whose true
        entries are counted instead.
    Returns the per-utterance loss f32[B] reduced by `reduction` (Keras default: mean over the batch).

    Args:
        pad_id: label padding value (int).
        name, reduction, dtype: as keras.losses.Loss.
    """

    loss_fn = staticmethod(ctc_loss)

    def __init__(self, pad_id=0, name="ctc_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(pad_id=pad_id, name=name, reduction=reduction, dtype=dtype)
