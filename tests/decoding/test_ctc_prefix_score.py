"""CTC prefix scores against brute force over every frame path, and against tf.nn.ctc_loss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo.decoding.ctc_prefix_score import CTCPrefixScorer
from zoo.errors import ConfigError

T, V = 5, 4


def logits(seed=0):
    return np.random.default_rng(seed).normal(size=(T, V)) * 2.0


def collapse(path):
    out, previous = [], None
    for s in path:
        if s != 0 and s != previous:
            out.append(s)
        previous = s
    return tuple(out)


def brute_prefix_log_prob(lg, prefix):
    """log of the summed probability of every frame path whose transcript starts with `prefix`."""
    p = np.exp(lg - np.log(np.exp(lg).sum(-1, keepdims=True)))
    total = sum(np.prod(p[np.arange(T), path]) for path in itertools.product(range(V), repeat=T)
                if collapse(path)[:len(prefix)] == tuple(prefix))
    return np.log(total) if total > 0 else -np.inf


def walk(scorer, labels):
    """(psi of each prefix along `labels`, r of the whole sequence)."""
    r, psi = scorer.initial_state()
    last, scores = -1, []
    for label in labels:
        psi_c, r_c = scorer.extend(r[None], [last], [label])
        r, psi, last = r_c[0, 0], psi_c[0, 0], label
        scores.append(psi)
    return scores, r


@pytest.mark.parametrize("labels", [[1], [2, 3], [1, 1], [3, 1, 3], [2, 2, 2]])
def test_prefix_scores_match_brute_force(labels):
    lg = logits(1)
    scores, _ = walk(CTCPrefixScorer(lg), labels)
    for n, psi in enumerate(scores, start=1):
        np.testing.assert_allclose(psi, brute_prefix_log_prob(lg, labels[:n]), rtol=1e-9)


@pytest.mark.parametrize("labels", [[1], [3, 2], [1, 1], [2, 3, 1], [1, 2, 1, 2]])
def test_whole_sequence_score_is_the_ctc_log_likelihood(labels):
    lg = logits(2)
    _, r = walk(CTCPrefixScorer(lg), labels)
    nll = tf.nn.ctc_loss(tf.constant([labels]), tf.constant(lg[None], tf.float32), tf.constant([len(labels)]),
                         tf.constant([T]), logits_time_major=False, blank_index=0).numpy()[0]
    np.testing.assert_allclose(CTCPrefixScorer.final(r), -nll, rtol=1e-5)


def test_extend_scores_every_prefix_and_candidate_at_once():
    lg = logits(3)
    scorer = CTCPrefixScorer(lg)
    empty, _ = scorer.initial_state()
    _, first = scorer.extend(empty[None], [-1], [2, 3])  # prefixes "2" and "3"
    prefixes = np.stack([empty, first[0, 0], first[0, 1]])
    psi, new = scorer.extend(prefixes, [-1, 2, 3], [1, 2, 3])
    for n, prefix in enumerate([[], [2], [3]]):
        for i, c in enumerate([1, 2, 3]):
            np.testing.assert_allclose(psi[n, i], brute_prefix_log_prob(lg, prefix + [c]), rtol=1e-9)
    assert new.shape == (3, 3, T, 2)
    # the empty prefix is certain; prefixes longer than the frames allow are impossible
    assert scorer.initial_state()[1] == 0.0
    scores, _ = walk(scorer, [1, 1, 1])  # needs 5 frames (two blanks between the repeats): still possible
    assert np.isfinite(scores[-1])
    scores, _ = walk(scorer, [1, 1, 1, 2])  # needs 6
    assert scores[-1] == -np.inf


def test_bad_inputs_are_refused():
    with pytest.raises(ConfigError, match="one utterance"):
        CTCPrefixScorer(np.zeros((2, 3, 4)))
    scorer = CTCPrefixScorer(logits())
    with pytest.raises(ConfigError, match="labels"):
        scorer.extend(scorer.initial_state()[0][None], [-1], [0, 1])
    with pytest.raises(ConfigError, match="one state"):
        scorer.extend(scorer.initial_state()[0], [-1], [1])
