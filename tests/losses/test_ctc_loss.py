"""CTC loss: brute-force path enumeration, padding conventions, Keras masks, fit and config."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.losses.ctc_loss import CTCLoss, ctc_alignable, ctc_loss, masked_ctc_loss


def collapse(path):
    out = []
    prev = None
    for p in path:
        if p != prev and p != 0:
            out.append(p)
        prev = p
    return tuple(out)


def brute_force_nll(logits, labels):
    """-log p(labels): sum over every frame path [T] that collapses to labels."""
    lp = np.asarray(logits, np.float64)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    scores = [lp[np.arange(len(path)), path].sum()
              for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0])
              if collapse(path) == tuple(labels)]
    return -np.logaddexp.reduce(scores)


def case(seed, batch=2, t=5, v=3, u=2):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 1.5, (batch, t, v)).astype(np.float32),
            rng.integers(1, v, (batch, u)).astype(np.int32))


def test_matches_brute_force_with_variable_lengths():
    logits, labels = case(0)
    labels[1] = [2, 2]  # a repeat needs a blank between
    got = ctc_loss(labels, logits, [2, 1], [5, 4]).numpy()
    want = [brute_force_nll(logits[0], labels[0]), brute_force_nll(logits[1, :4], labels[1, :1])]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_keras_loss_derives_label_length_from_padding():
    logits, labels = case(1)
    labels[1, 1] = 0
    want = [brute_force_nll(logits[0], labels[0]), brute_force_nll(logits[1], labels[1, :1])]
    np.testing.assert_allclose(CTCLoss(reduction="none")(labels, logits).numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(CTCLoss()(labels, logits).numpy(), np.mean(want), rtol=1e-5)
    padded = np.where(labels == 0, -1, labels)
    np.testing.assert_allclose(CTCLoss(pad_id=-1, reduction="none")(padded, logits).numpy(),
                               want, rtol=1e-5)


def test_dict_inputs_and_keras_mask_give_logit_length():
    logits, labels = case(2)
    want = [brute_force_nll(logits[0, :3], labels[0]), brute_force_nll(logits[1], labels[1])]
    loss = CTCLoss(reduction="none")
    got = loss({"labels": labels, "label_length": [2, 2]},
               {"logits": logits, "logit_length": [3, 5]}).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    masked = keras.layers.Masking(mask_value=0.0)(np.where(
        (np.arange(5)[None, :, None] >= np.array([3, 5])[:, None, None]), 0.0, logits))
    np.testing.assert_allclose(loss(labels, masked).numpy(), want, rtol=1e-5)


def test_dict_without_logits_is_a_clear_error():
    logits, labels = case(3)
    with pytest.raises(ConfigError, match="'logits'"):
        CTCLoss()(labels, {"scores": logits})
    with pytest.raises(ConfigError, match="rank 2"):
        CTCLoss()(labels[:, :, None], logits)


def test_fit_reduces_the_loss_and_config_round_trips():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6, 4)).astype(np.float32)
    y = rng.integers(1, 4, (16, 2)).astype(np.int32)
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(4)])
    model.compile(keras.optimizers.Adam(0.05), loss=CTCLoss())
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.7 * history[0]
    config = CTCLoss(pad_id=-1, name="ctc").get_config()
    assert config["pad_id"] == -1 and config["name"] == "ctc"
    clone = keras.losses.deserialize(keras.losses.serialize(CTCLoss(pad_id=-1)))
    assert isinstance(clone, CTCLoss) and clone.pad_id == -1


def test_works_inside_tf_function():
    logits, labels = case(4)
    fn = tf.function(lambda y, p: CTCLoss(reduction="none")(y, p))
    np.testing.assert_allclose(fn(labels, logits).numpy(),
                               ctc_loss(labels, logits, [2, 2], [5, 5]).numpy(), rtol=1e-6)


def test_alignable_rows_are_those_with_a_path_by_brute_force():
    """ctc_alignable agrees with brute force: some frame path collapses to the labels."""
    rows = [([1, 2, 0], 2, 2), ([1, 1, 0], 2, 2), ([1, 1, 0], 2, 3), ([2, 2, 2], 3, 4), ([2, 2, 2], 3, 5),
            ([1, 2, 1], 3, 3), ([0, 0, 0], 0, 1)]
    labels = tf.constant([r[0] for r in rows])
    got = ctc_alignable(labels, tf.constant([r[1] for r in rows]), tf.constant([r[2] for r in rows])).numpy()
    expected = [any(collapse(p) == tuple(r[0][:r[1]]) for p in itertools.product(range(3), repeat=r[2]))
                for r in rows]
    assert got.tolist() == expected == [True, False, True, False, True, True, True]


def test_masked_ctc_loss_drops_unalignable_rows_with_finite_gradients():
    logits = tf.constant(np.random.default_rng(3).normal(size=(3, 4, 3)), tf.float32)
    labels = tf.constant([[1, 2, 0], [1, 1, 1], [2, 0, 0]])  # row 1: 1 1 1 needs 5 frames, has 4
    label_length, frames = tf.constant([2, 3, 1]), tf.constant([4, 4, 3])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        got = masked_ctc_loss(labels, logits, label_length, frames)
    plain = ctc_loss(labels, logits, label_length, frames).numpy()
    np.testing.assert_allclose(got.numpy()[[0, 2]], plain[[0, 2]], rtol=1e-6)
    assert got.numpy()[1] == 0.0 and plain[1] > 700
    grad = tape.gradient(got, logits).numpy()
    assert np.all(np.isfinite(grad)) and np.all(grad[1] == 0.0) and np.any(grad[0] != 0.0)
