"""LAS joint CTC-attention loss (Kim, Hori & Watanabe 2017): the closed-form mix of the two losses,
the CTC term dropped for utterances it cannot align, config validation and weight round trips."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.families.recognition.las.las_speller import LASSpeller

VOCAB = 7
DIM = 6


def speller(ctc_weight):
    keras.utils.set_random_seed(3)
    layer = LASSpeller(VOCAB, embedding_dim=4, decoder_units=8, attention_units=5, location_filters=2,
                       location_kernel_size=3, label_smoothing=0.1, ctc_weight=ctc_weight)
    layer.build((None, None, DIM))
    return layer


def batch():
    rng = np.random.default_rng(0)
    encoded = tf.constant(rng.normal(size=(3, 9, DIM)).astype(np.float32))
    length = tf.constant([9, 7, 3], tf.int32)
    # row 2: labels "1 1 2" need 4 frames (a blank between the repeated 1s) but it has 3
    labels = tf.constant([[1, 2, 3, 4], [5, 5, 6, 0], [1, 1, 2, 0]], tf.int32)
    label_length = tf.constant([4, 3, 3], tf.int32)
    return encoded, length, labels, label_length


def test_joint_loss_is_the_weighted_sum_of_attention_and_ctc():
    encoded, length, labels, label_length = batch()
    joint = speller(0.3)
    attention_only = speller(0.0)
    attention_only.set_weights([w for w in joint.get_weights()[:len(attention_only.weights)]])
    attention = attention_only.loss(encoded, length, labels, label_length).numpy()
    ctc = tf.nn.ctc_loss(labels[:2], joint.ctc_head(encoded[:2]), label_length[:2], length[:2],
                         logits_time_major=False, blank_index=0).numpy()
    got = joint.loss(encoded, length, labels, label_length).numpy()
    np.testing.assert_allclose(got[:2], 0.7 * attention[:2] + 0.3 * ctc, rtol=1e-5)
    # the infeasible row keeps only its (weighted) attention term
    np.testing.assert_allclose(got[2], 0.7 * attention[2], rtol=1e-5)


def test_an_unalignable_utterance_teaches_the_ctc_head_nothing():
    encoded, length, labels, label_length = batch()
    joint = speller(0.5)
    # tf.nn.ctc_loss scores a label sequence with no alignment about 709 (exp(-709) is float's floor),
    # not infinity: kept, it would swamp the batch's mean loss
    raw = tf.nn.ctc_loss(labels[2:], joint.ctc_head(encoded[2:]), label_length[2:], length[2:],
                         logits_time_major=False, blank_index=0).numpy()
    assert raw[0] > 500
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(joint.loss(encoded[2:], length[2:], labels[2:], label_length[2:]))
    grads = {v.path: tf.convert_to_tensor(g) for v, g in zip(joint.trainable_variables,
                                                             tape.gradient(loss, joint.trainable_variables))
             if g is not None}
    head = [g for path, g in grads.items() if "ctc_logits" in path]
    assert len(head) == 2 and all(not np.any(g.numpy()) for g in head)
    assert all(np.isfinite(g.numpy()).all() for g in grads.values())


def test_no_ctc_head_without_a_ctc_weight():
    assert speller(0.0).ctc_head is None
    assert not any("ctc_logits" in v.path for v in speller(0.0).weights)


@pytest.mark.parametrize("bad", [-0.1, 1.0, True, "0.3"])
def test_bad_ctc_weight_is_refused(bad):
    with pytest.raises(ConfigError, match="ctc_weight"):
        LASSpeller(VOCAB, ctc_weight=bad)


def test_config_round_trip_keeps_the_ctc_head():
    joint = speller(0.25)
    clone = LASSpeller.from_config(joint.get_config())
    clone.build((None, None, DIM))
    assert clone.ctc_weight == 0.25 and clone.get_config() == joint.get_config()
    clone.set_weights(joint.get_weights())
    encoded, length, labels, label_length = batch()
    np.testing.assert_allclose(clone.loss(encoded, length, labels, label_length).numpy(),
                               joint.loss(encoded, length, labels, label_length).numpy(), rtol=1e-6)


def attention_log_prob(layer, encoded, ids):
    """Teacher-forced log p_att(ids + end | memory) of one utterance (the loss without smoothing)."""
    labels = tf.constant([list(ids) or [0]], tf.int32)
    memory = tf.constant(encoded[None])
    return -float(layer._attention_loss(memory, tf.constant([len(encoded)]), labels, tf.constant([len(ids)]),
                                        False)[0])


def ctc_log_prob(layer, encoded, ids):
    return -float(tf.nn.ctc_loss(tf.constant([list(ids) or [0]]), layer.ctc_head(tf.constant(encoded[None])),
                                 tf.constant([len(ids)]), tf.constant([len(encoded)]), logits_time_major=False,
                                 blank_index=0)[0])


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6])
def test_joint_beam_scores_are_the_weighted_attention_and_ctc_log_probs(weight):
    keras.utils.set_random_seed(5)
    layer = LASSpeller(VOCAB, embedding_dim=4, decoder_units=8, attention_units=5, location_filters=2,
                       location_kernel_size=3, label_smoothing=0.0, length_penalty=0.0, ctc_weight=0.3)
    layer.build((None, None, DIM))
    # biases towards the end symbol and the CTC blank, so that hypotheses end before max_output_length
    layer.output_layer.bias.assign(np.array([0.8] + [0.0] * (VOCAB - 1), np.float32))
    layer.ctc_head.bias.assign(np.array([2.5] + [0.0] * (VOCAB - 1), np.float32))
    encoded = np.random.default_rng(1).normal(size=(8, DIM)).astype(np.float32) * 2
    hyps = layer.beam_search_hypotheses(encoded, beam_width=3, max_output_length=6, ctc_weight=weight)
    assert hyps and [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    ended = [h for h in hyps if len(h.token_ids) < 6]  # the others were cut at max_output_length, unended
    assert ended
    for h in ended:
        expected = (1 - weight) * attention_log_prob(layer, encoded, h.token_ids)
        if weight:
            expected += weight * ctc_log_prob(layer, encoded, h.token_ids)
        np.testing.assert_allclose(h.log_prob, expected, rtol=1e-4, atol=1e-4)


def test_joint_beam_needs_a_ctc_head():
    layer = speller(0.0)
    with pytest.raises(ConfigError, match="CTC head"):
        layer.beam_search_hypotheses(np.zeros((4, DIM), np.float32), ctc_weight=0.3)
