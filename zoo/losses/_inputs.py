"""Shared argument handling of the sequence losses: dense padded labels and optional lengths.

A Keras loss receives (y_true, y_pred). The sequence losses accept either plain tensors
(labels padded with `pad_id`; all frames valid, or the frames of y_pred's Keras mask) or dicts
that carry the lengths explicitly: y_true = {"labels", "label_length"},
y_pred = {"logits", "logit_length"}.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError


def _pick(value, key, length_key, owner, side):
    if isinstance(value, dict):
        if key not in value:
            raise ConfigError(f"{owner}: {side} dict has no '{key}' entry", received=sorted(value),
                              expected=f"keys '{key}' and optionally '{length_key}'",
                              fix=f"pass {side}={{'{key}': ..., '{length_key}': ...}}")
        return value[key], value.get(length_key)
    return value, None


def unpack(y_true, y_pred, owner, pad_id, logits_key="logits"):
    """-> labels i32[B,U], label_length i32[B], logits float[B,T,...], logit_length i32[B]."""
    labels, label_length = _pick(y_true, "labels", "label_length", owner, "y_true")
    logits, logit_length = _pick(y_pred, logits_key, "logit_length", owner, "y_pred")
    logits = tf.convert_to_tensor(logits)
    if not logits.dtype.is_floating:
        raise ConfigError(f"{owner}: logits must be floating point", received=logits.dtype.name,
                          expected="float32 (or float64)", fix="pass the model's unnormalised scores")
    labels = tf.convert_to_tensor(labels)
    if labels.dtype.is_floating:  # Keras casts y_true to the loss dtype
        labels = tf.cast(tf.round(labels), tf.int32)
    labels = tf.cast(labels, tf.int32)
    if labels.shape.rank is not None and labels.shape.rank != 2:
        raise ConfigError(f"{owner}: labels must be dense [batch, max_label_length]",
                          received=f"rank {labels.shape.rank}", expected="rank 2",
                          fix=f"pad label sequences with {pad_id} to one length")
    if label_length is None:
        label_length = tf.reduce_sum(tf.cast(tf.not_equal(labels, pad_id), tf.int32), axis=1)
    label_length = tf.cast(tf.reshape(label_length, [-1]), tf.int32)
    if logit_length is None:
        logit_length = tf.fill(tf.shape(logits)[:1], tf.shape(logits)[1])
    logit_length = tf.cast(tf.reshape(logit_length, [-1]), tf.int32)
    return labels, label_length, logits, logit_length


def strip_mask(y_pred):
    """A Keras mask [B,T] on y_pred becomes logit_length (Keras would apply it to losses [B])."""
    mask = getattr(y_pred, "_keras_mask", None)
    if isinstance(y_pred, dict) or mask is None:
        return y_pred
    mask = tf.cast(mask, tf.bool)
    if mask.shape.rank is not None and mask.shape.rank > 2:  # e.g. [B, T, U+1] on joint logits
        mask = tf.reduce_any(mask, axis=list(range(2, mask.shape.rank)))
    length = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    return {"logits": tf.identity(y_pred), "logit_length": length}


class SequenceLoss(keras.losses.Loss):
    """Keras wrapper shared by CTCLoss and RNNTLoss: subclasses set `loss_fn(labels, logits,
    label_length, logit_length) -> f32[B]`; inputs are unpacked by `unpack` above."""

    loss_fn = None

    def __init__(self, pad_id=0, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.pad_id = int(pad_id)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return super().__call__(y_true, strip_mask(y_pred), sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        labels, label_length, logits, logit_length = unpack(y_true, y_pred, type(self).__name__, self.pad_id)
        return type(self).loss_fn(labels, logits, label_length, logit_length)

    def get_config(self):
        config = super().get_config()
        config.update(pad_id=self.pad_id)
        return config
