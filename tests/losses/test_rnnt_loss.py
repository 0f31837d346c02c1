"""RNN-T loss against a brute-force enumeration of all alignments, plus gradients and tf.function."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.losses.rnnt_loss import RNNTLoss, rnnt_loss


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def brute_force_nll(logits, labels):
    """-log p(labels) for one utterance: logits [T, U+1, V], labels [U]; sums every alignment."""
    lp = log_softmax(np.asarray(logits, np.float64))
    t_len, u_len = lp.shape[0], len(labels)
    total = []
    # An alignment is T blanks and U labels; the last emission is the blank at (T-1, U).
    for label_slots in itertools.combinations(range(t_len + u_len - 1), u_len):
        t = u = 0
        score = 0.0
        for slot in range(t_len + u_len - 1):
            if slot in label_slots:
                score += lp[t, u, labels[u]]
                u += 1
            else:
                score += lp[t, u, 0]
                t += 1
        total.append(score + lp[t_len - 1, u_len, 0])
    return -np.logaddexp.reduce(total)


def random_case(seed, batch, t_max, u_max, vocab, dtype=np.float32):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (batch, t_max, u_max + 1, vocab)).astype(dtype)
    labels = rng.integers(1, vocab, (batch, u_max)).astype(np.int32)
    return logits, labels


@pytest.mark.parametrize("t_len,u_len,vocab", [(1, 0, 2), (1, 2, 3), (3, 1, 2), (4, 3, 4), (5, 2, 3)])
def test_matches_brute_force(t_len, u_len, vocab):
    logits, labels = random_case(t_len * 10 + u_len, 2, t_len, u_len, vocab)
    got = rnnt_loss(labels, logits, [u_len] * 2, [t_len] * 2).numpy()
    want = [brute_force_nll(logits[b], labels[b]) for b in range(2)]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-6)


def test_variable_lengths_in_a_batch_equal_unpadded_rows():
    logits, labels = random_case(7, 3, 5, 3, 4)
    logit_length = np.array([5, 2, 4], np.int32)
    label_length = np.array([3, 1, 0], np.int32)
    padded = labels.copy()
    padded[1, 1:] = 0  # padding ids must not matter
    got = rnnt_loss(padded, logits, label_length, logit_length).numpy()
    for b in range(3):
        t, u = logit_length[b], label_length[b]
        want = brute_force_nll(logits[b, :t, :u + 1], labels[b, :u])
        np.testing.assert_allclose(got[b], want, atol=1e-5, rtol=1e-6)
    # Garbage in the padded region changes nothing.
    noisy = logits.copy()
    noisy[1, 2:] = 100.0
    noisy[1, :, 2:] = -100.0
    np.testing.assert_allclose(rnnt_loss(padded, noisy, label_length, logit_length).numpy()[1],
                               got[1], atol=1e-6)


def test_float32_precision_on_a_long_sequence():
    """T=60, U=40: float32 loss equals the float64 one to ~1e-6 relative (no cumulative-sum drift)."""
    logits, labels = random_case(3, 1, 60, 40, 6)
    f32 = rnnt_loss(labels, logits, [40], [60]).numpy()
    f64 = rnnt_loss(labels, logits.astype(np.float64), [40], [60]).numpy()
    np.testing.assert_allclose(f32, f64, rtol=2e-6)
    assert f64[0] > 50  # a long, hard utterance: the check is not trivially about small numbers


def test_gradient_matches_finite_differences():
    logits, labels = random_case(11, 2, 3, 2, 3, dtype=np.float64)

    def f(x):
        return tf.reduce_sum(rnnt_loss(labels, x, [2, 1], [3, 2]))

    theoretical, numerical = tf.test.compute_gradient(f, [tf.constant(logits)], delta=1e-6)
    assert np.all(np.isfinite(theoretical[0]))
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-6)
    # Frames and label positions outside the lengths get exactly zero gradient.
    grad = theoretical[0].reshape(logits.shape)
    assert np.all(grad[1, 2:] == 0) and np.all(grad[1, :, 2:] == 0)


def test_gradient_sums_to_zero_over_vocab_and_is_finite_in_float32():
    logits, labels = random_case(12, 2, 6, 4, 5)
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(rnnt_loss(labels, x, [4, 2], [6, 3]))
    grad = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-5)  # softmax gradient property


def test_inside_tf_function_with_dynamic_shapes():
    spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None, None, None], tf.float32),
            tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)]
    fn = tf.function(rnnt_loss, input_signature=spec)
    for seed, (t, u) in enumerate([(4, 2), (3, 3)]):
        logits, labels = random_case(seed, 2, t, u, 3)
        got = fn(labels, logits, tf.constant([u, u]), tf.constant([t, t])).numpy()
        want = [brute_force_nll(logits[b], labels[b]) for b in range(2)]
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-6)


def test_zero_frames_gives_infinite_loss():
    logits, labels = random_case(0, 2, 3, 1, 3)
    got = rnnt_loss(labels, logits, [1, 1], [3, 0]).numpy()
    assert np.isfinite(got[0]) and got[1] == np.inf


def test_shape_errors_say_what_to_fix():
    logits, labels = random_case(0, 1, 3, 2, 3)
    with pytest.raises(ConfigError, match=r"U \+ 1"):
        rnnt_loss(labels[:, :1], logits, [1], [3])
    with pytest.raises(ConfigError, match="rank 4"):
        rnnt_loss(labels, logits[:, :, 0], [2], [3])


def test_keras_loss_wrapper_dicts_padding_and_config():
    logits, labels = random_case(5, 2, 4, 2, 3)
    labels[1, 1] = 0  # second row has one label, padded with 0
    loss = RNNTLoss()
    per_row = rnnt_loss(labels, logits, [2, 1], [4, 3]).numpy()
    got = loss({"labels": labels}, {"logits": logits, "logit_length": np.array([4, 3])}).numpy()
    np.testing.assert_allclose(got, per_row.mean(), rtol=1e-6)
    summed = RNNTLoss(reduction="sum")(labels, logits).numpy()
    np.testing.assert_allclose(summed, rnnt_loss(labels, logits, [2, 1], [4, 4]).numpy().sum(),
                               rtol=1e-6)
    minus_one = np.where(labels == 0, -1, labels)
    np.testing.assert_allclose(RNNTLoss(pad_id=-1, reduction="none")(minus_one, logits).numpy(),
                               rnnt_loss(labels, logits, [2, 1], [4, 4]).numpy(), rtol=1e-6)
    clone = keras.losses.deserialize(keras.losses.serialize(RNNTLoss(pad_id=-1, reduction="sum")))
    assert isinstance(clone, RNNTLoss) and clone.pad_id == -1 and clone.reduction == "sum"
