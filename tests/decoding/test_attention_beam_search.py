"""Attention-decoder beam search on table-driven step functions: exact with a wide beam, better than
greedy where greedy is wrong, beam 1 = greedy, length normalisation, state reordering, errors."""

import itertools

import numpy as np
import pytest

from zoo.decoding.attention_beam_search import attention_beam_search
from zoo.errors import ConfigError

BOS, EOS, V = 0, 1, 4


def history_lm(seed):
    """A step whose distribution depends on the whole history, carried as an int code in the state."""
    def probs(code):
        return np.random.default_rng([seed, code]).dirichlet(np.full(V, 0.7))

    def step(tokens, state):
        code = state["code"] * V + np.asarray(tokens)
        return np.log(np.stack([probs(c) for c in code])), {"code": code}

    return step, probs


def sequence_log_prob(probs, seq, terminated):
    code, total = BOS, 0.0
    for tok in seq + ((EOS,) if terminated else ()):
        total += np.log(probs(code)[tok])
        code = code * V + tok
    return total


def all_sequences(max_length):
    """(tokens, terminated) for every output the search can return at this max_length."""
    others = [t for t in range(V) if t != EOS]
    for n in range(max_length):
        for seq in itertools.product(others, repeat=n):
            yield seq, True
    for seq in itertools.product(others, repeat=max_length):
        yield seq, False


def search(step, **kwargs):
    return attention_beam_search(step, {"code": np.zeros(1, np.int64)}, BOS, EOS, **kwargs)


@pytest.mark.parametrize("seed,alpha", [(0, 0.0), (1, 0.0), (2, 1.0), (3, 0.6)])
def test_wide_beam_is_exact(seed, alpha):
    step, probs = history_lm(seed)
    best, best_score = None, -np.inf
    for seq, terminated in all_sequences(4):
        lp = sequence_log_prob(probs, seq, terminated)
        score = lp / (len(seq) + terminated) ** alpha
        if score > best_score:
            best, best_score = seq, score
    got = search(step, beam_width=500, max_length=4, length_penalty=alpha)[0]
    assert got.token_ids == best and got.score == pytest.approx(best_score)


def test_beam_one_is_greedy():
    for seed in range(5):
        step, probs = history_lm(seed)
        seq, code = (), BOS
        while len(seq) < 6:
            tok = int(np.argmax(probs(code)))
            if tok == EOS:
                break
            seq += (tok,)
            code = code * V + tok
        got = search(step, beam_width=1, max_length=6)[0]
        assert got.token_ids == seq
        assert got.log_prob == pytest.approx(sequence_log_prob(probs, seq, len(seq) < 6))


def table_step(table):
    """log-probs from a dict history (tuple, bos dropped) -> probabilities; unknown histories end.
    The state is the history as a base-V code behind a leading 1."""
    def probs(code):
        digits = []
        while code > 1:
            code, d = divmod(code, V)
            digits.append(d)
        history = tuple(reversed(digits))[1:]  # drop bos
        return np.asarray(table.get(history, [1e-9, 1.0, 1e-9, 1e-9]), np.float64)

    def step(tokens, state):
        code = state["code"] * V + np.asarray(tokens)
        with np.errstate(divide="ignore"):  # impossible tokens: -inf, which the search skips
            return np.log(np.stack([probs(c) for c in code])), {"code": code}
    return step


START = {"code": np.ones(1, np.int64)}


def test_beats_greedy_where_greedy_is_wrong():
    step = table_step({(): [0.0, 0.0, 0.6, 0.4], (2,): [0.0, 0.5, 0.25, 0.25]})
    state = START
    greedy = attention_beam_search(step, state, BOS, EOS, beam_width=1, max_length=5)[0]
    beam = attention_beam_search(step, state, BOS, EOS, beam_width=2, max_length=5)[0]
    assert greedy.token_ids == (2,) and greedy.log_prob == pytest.approx(np.log(0.3))
    assert beam.token_ids == (3,) and beam.log_prob == pytest.approx(np.log(0.4))


def test_length_normalisation_prefers_the_longer_output():
    step = table_step({(): [0.0, 0.5, 0.5, 0.0], (2,): [0.0, 0.3, 0.6, 0.1],
                       (2, 2): [0.0, 0.9, 0.1, 0.0]})
    state = START
    plain = attention_beam_search(step, state, BOS, EOS, beam_width=4, max_length=6)
    normed = attention_beam_search(step, state, BOS, EOS, beam_width=4, max_length=6,
                                   length_penalty=1.0, decode=["<s>", "</s>", "a", "b"])
    assert plain[0].token_ids == () and plain[0].score == pytest.approx(np.log(0.5))
    assert normed[0].token_ids == (2, 2) and normed[0].text == "aa"
    assert normed[0].score == pytest.approx(np.log(0.5 * 0.6 * 0.9) / 3)


def test_argument_errors():
    step, _ = history_lm(0)
    with pytest.raises(ConfigError, match="beam_width"):
        search(step, beam_width=0)
    with pytest.raises(ConfigError, match="length_penalty"):
        search(step, length_penalty=-1.0)


@pytest.mark.parametrize("seed", range(2))
def test_wide_beam_with_a_lexicon_is_exact_over_listed_words(seed):
    from zoo.decoding.lexicon import Lexicon

    symbols, words = ["a", "", "b", " "], {"ab", "b"}  # BOS 0 is also a token here; EOS 1 writes nothing
    step, probs = history_lm(seed)
    lexicon = Lexicon(words, symbols)
    outputs = {seq: sequence_log_prob(probs, seq, terminated) for seq, terminated in all_sequences(4)}
    listed = {seq: lp for seq, lp in outputs.items()
              if all(w in words for w in "".join(symbols[k] for k in seq).split())}
    got = search(step, beam_width=500, max_length=4, lexicon=lexicon)[0]
    assert got.token_ids == max(listed, key=listed.get) and got.log_prob == pytest.approx(max(listed.values()))
    assert len(listed) < len(outputs)  # the lexicon removed outputs: the check has teeth
