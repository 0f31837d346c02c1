"""RNN-T greedy (in-graph) and time-synchronous beam search on tiny hand-built transducers."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo.decoding.rnnt_beam_search import rnnt_beam_search
from zoo.decoding.rnnt_greedy import rnnt_greedy
from zoo.errors import ConfigError


class TinyTransducer:
    """Random one-layer RNN prediction network and tanh joint, written with TF ops."""

    def __init__(self, seed, vocab=3, dim=4, hidden=5):
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.embed = tf.constant(rng.normal(0, 1, (vocab, hidden)), tf.float32)
        self.recur = tf.constant(rng.normal(0, 0.5, (hidden, hidden)), tf.float32)
        self.enc_proj = tf.constant(rng.normal(0, 1, (dim, 6)), tf.float32)
        self.pred_proj = tf.constant(rng.normal(0, 1, (hidden, 6)), tf.float32)
        self.out = tf.constant(rng.normal(0, 2, (6, vocab)), tf.float32)

    def initial_state(self, batch):
        return {"h": tf.zeros(tf.stack([batch, self.embed.shape[1]]))}

    def predictor_step(self, tokens, state):
        h = tf.tanh(tf.gather(self.embed, tokens) + state["h"] @ self.recur)
        return h, {"h": h}

    def joint(self, frame, prediction):
        frame = tf.cast(frame, tf.float32)
        return tf.tanh(frame @ self.enc_proj + tf.cast(prediction, tf.float32) @ self.pred_proj) @ self.out

    def callables(self):
        return self.predictor_step, self.joint, self.initial_state


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


class Reference:
    """Per-utterance numpy helpers with caches: log P(. | frame t, labels y)."""

    def __init__(self, model, encoder_out):
        self.model, self.enc = model, np.asarray(encoder_out, np.float32)
        self.pred, self.lp = {}, {}

    def prediction(self, y):
        if y not in self.pred:
            if y:
                self.prediction(y[:-1])
            state = self.model.initial_state(1) if not y else self.pred[y[:-1]][1]
            self.pred[y] = self.model.predictor_step(np.array([y[-1] if y else 0]), state)
        return self.pred[y][0]

    def log_probs(self, t, y):
        if (t, y) not in self.lp:
            logits = self.model.joint(self.enc[t][None], self.prediction(y)).numpy()[0]
            self.lp[(t, y)] = log_softmax(logits.astype(np.float64))
        return self.lp[(t, y)]

    def greedy(self, max_symbols):
        y = ()
        for t in range(len(self.enc)):
            for _ in range(max_symbols):
                k = int(np.argmax(self.log_probs(t, y)))
                if k == 0:
                    break
                y += (k,)
        return y

    def exact(self, max_symbols):
        """log p(y) for every y, over all alignments with <= max_symbols labels per frame."""
        labels = range(1, self.model.vocab)
        per_frame = [seq for k in range(max_symbols + 1) for seq in itertools.product(labels, repeat=k)]
        totals = {}
        for choice in itertools.product(per_frame, repeat=len(self.enc)):
            y, score = (), 0.0
            for t, seq in enumerate(choice):
                for k in seq:
                    score += self.log_probs(t, y)[k]
                    y += (k,)
                score += self.log_probs(t, y)[0]
            totals[y] = np.logaddexp(totals.get(y, -np.inf), score)
        return totals


def test_greedy_on_a_hand_built_model_emits_collapsed_targets():
    # Frame t favours label k_t (5 vs blank 1) unless the last label already is k_t (-5).
    targets = [[1, 1, 2, 0, 2, 1], [2, 0, 0, 1, 1, 1]]
    enc = np.eye(3, dtype=np.float32)[targets] * 5.0
    enc[..., 0] = 0.0

    def predictor_step(tokens, state):
        return -10.0 * tf.one_hot(tokens, 3) * tf.constant([0.0, 1.0, 1.0]), (state[0] + 1.0,)

    def joint(frame, prediction):
        return frame + prediction + tf.constant([1.0, 0.0, 0.0])

    ids, length = rnnt_greedy(enc, predictor_step, joint, lambda b: (tf.zeros(tf.stack([b, 1])),),
                              encoder_length=[6, 4])
    np.testing.assert_array_equal(ids.numpy(), [[1, 2, 1], [2, 1, 0]])
    np.testing.assert_array_equal(length.numpy(), [3, 2])


def test_greedy_caps_symbols_per_frame():
    def predictor_step(tokens, state):
        return tf.zeros([tf.shape(tokens)[0], 1]), state

    def joint(frame, prediction):  # never blank: only the cap moves to the next frame
        return tf.tile(tf.constant([[0.0, 1.0, 2.0]]), [tf.shape(frame)[0], 1])

    enc = np.zeros((2, 3, 1), np.float32)
    for cap in (1, 3):
        ids, length = rnnt_greedy(enc, predictor_step, joint, lambda b: tf.zeros([b, 1]),
                                  encoder_length=[3, 1], max_symbols_per_frame=cap)
        np.testing.assert_array_equal(length.numpy(), [3 * cap, cap])
        assert ids.numpy()[0].tolist() == [2] * 3 * cap
    with pytest.raises(ConfigError, match="max_symbols_per_frame"):
        rnnt_greedy(enc, predictor_step, joint, lambda b: tf.zeros([b, 1]), max_symbols_per_frame=0)


@pytest.mark.parametrize("seed", range(3))
def test_greedy_matches_a_per_utterance_reference_with_variable_lengths(seed):
    model = TinyTransducer(seed)
    enc = np.random.default_rng(seed + 10).normal(0, 1.5, (3, 6, 4)).astype(np.float32)
    lengths = [6, 2, 4]
    ids, length = rnnt_greedy(enc, *model.callables(), encoder_length=lengths, max_symbols_per_frame=2)
    for b in range(3):
        want = Reference(model, enc[b, :lengths[b]]).greedy(2)
        assert length.numpy()[b] == len(want)
        assert tuple(ids.numpy()[b, :len(want)]) == want and not ids.numpy()[b, len(want):].any()


def test_greedy_traces_and_survives_a_saved_model(tmp_path):
    model = TinyTransducer(1)

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, 4], tf.float32),
                                      tf.TensorSpec([None], tf.int32)])
        def decode(self, enc, length):
            ids, n = rnnt_greedy(enc, *model.callables(), encoder_length=length)
            return {"token_ids": ids, "token_length": n}

    tf.saved_model.save(Module(), str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    enc = np.random.default_rng(3).normal(0, 1.5, (2, 7, 4)).astype(np.float32)
    got = loaded.decode(enc, tf.constant([7, 3]))
    want = rnnt_greedy(enc, *model.callables(), encoder_length=[7, 3])
    np.testing.assert_array_equal(got["token_ids"].numpy(), want[0].numpy())
    np.testing.assert_array_equal(got["token_length"].numpy(), want[1].numpy())


@pytest.mark.parametrize("seed", range(2))
def test_beam_search_is_exact_without_pruning(seed):
    model = TinyTransducer(seed)
    enc = np.random.default_rng(seed).normal(0, 1.5, (3, 4)).astype(np.float32)
    exact = Reference(model, enc).exact(2)
    hyps = rnnt_beam_search(enc, *model.callables(), beam_width=1000, max_symbols_per_frame=2)
    assert {h.token_ids for h in hyps} == set(exact)
    for h in hyps:
        assert h.log_prob == pytest.approx(exact[h.token_ids], abs=1e-5)
    assert hyps[0].token_ids == max(exact, key=exact.get)
    assert np.logaddexp.reduce(list(exact.values())) < 1e-6  # a distribution: the check has teeth


def test_beam_search_beats_greedy_where_greedy_is_wrong():
    # Fresh: blank 0.6, label 0.4 per frame; after emitting the label the blank has 0.99.
    def predictor_step(tokens, state):
        return tf.cast(tokens[:, None] == 1, tf.float32), state

    def joint(frame, prediction):
        after = tf.math.log(tf.constant([[0.99, 0.01]]))
        return frame * (1.0 - prediction) + after * prediction

    enc = np.log(np.array([[0.6, 0.4], [0.6, 0.4]], np.float32))
    callables = (predictor_step, joint, lambda b: tf.zeros([b, 0]))
    ids, length = rnnt_greedy(enc[None], *callables)
    assert length.numpy()[0] == 0
    best = rnnt_beam_search(enc, *callables, beam_width=2)[0]
    assert best.token_ids == (1,)
    # p("1") = 0.4*0.99*0.99 (label at frame 0) + 0.6*0.4*0.99 (at frame 1) > p("") = 0.36
    assert best.log_prob == pytest.approx(np.log(0.4 * 0.99 * 0.99 + 0.6 * 0.4 * 0.99), abs=1e-6)


def test_beam_one_follows_greedy_on_a_confident_model_and_text():
    model = TinyTransducer(4)
    model.out = model.out * 4.0  # peaked posteriors
    enc = np.random.default_rng(4).normal(0, 1.5, (8, 4)).astype(np.float32)
    want = Reference(model, enc).greedy(4)
    got = rnnt_beam_search(enc, *model.callables(), beam_width=1, decode=["_", "a", "b"])[0]
    assert got.token_ids == want and got.text == "".join("_ab"[k] for k in want)
    assert rnnt_beam_search(enc, *model.callables(), beam_width=3, length=0)[0].token_ids == ()


def test_beam_search_argument_errors():
    model = TinyTransducer(0)
    with pytest.raises(ConfigError, match="one utterance"):
        rnnt_beam_search(np.zeros((1, 3, 4)), *model.callables())
    with pytest.raises(ConfigError, match="beam_width"):
        rnnt_beam_search(np.zeros((3, 4)), *model.callables(), beam_width=0)


@pytest.mark.parametrize("seed", range(2))
def test_beam_search_with_a_lexicon_is_exact_over_listed_words(seed):
    from zoo.decoding.lexicon import Lexicon

    symbols, words = ["", "a", "b", " "], {"ab", "b"}
    model = TinyTransducer(seed, vocab=4)
    enc = np.random.default_rng(seed).normal(0, 1.5, (3, 4)).astype(np.float32)
    exact = Reference(model, enc).exact(2)
    listed = {y: lp for y, lp in exact.items()
              if all(w in words for w in "".join(symbols[k] for k in y).split())}
    lexicon = Lexicon(words, symbols)
    hyps = rnnt_beam_search(enc, *model.callables(), beam_width=1000, max_symbols_per_frame=2, lexicon=lexicon)
    complete = [h for h in hyps if lexicon.complete(h.token_ids)]
    assert {h.token_ids for h in complete} == set(listed)
    for h in complete:
        assert h.log_prob == pytest.approx(listed[h.token_ids], abs=1e-5)
    assert hyps[0].token_ids == max(listed, key=listed.get)
    assert len(listed) < len(exact)
