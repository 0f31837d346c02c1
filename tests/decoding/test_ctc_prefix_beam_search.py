"""CTC prefix beam search: exact against brute-force path enumeration, better than greedy where
greedy is wrong, beam 1 vs greedy, language-model hook, text and errors."""

import itertools

import numpy as np
import pytest

from zoo.decoding.ctc_greedy import ctc_greedy
from zoo.decoding.ctc_prefix_beam_search import ctc_prefix_beam_search, ctc_prefix_beam_search_batch
from zoo.errors import ConfigError


def collapse(path):
    out, prev = [], None
    for p in path:
        if p != prev and p != 0:
            out.append(p)
        prev = p
    return tuple(out)


def labelling_log_probs(log_probs):
    """Exact log p(labelling) for every labelling, by enumerating all V**T frame paths."""
    totals = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        score = log_probs[np.arange(len(path)), path].sum()
        key = collapse(path)
        totals[key] = np.logaddexp(totals.get(key, -np.inf), score)
    return totals


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def greedy(logits):
    ids, length = ctc_greedy(logits[None].astype(np.float32))
    return tuple(ids.numpy()[0, :length.numpy()[0]].tolist())


@pytest.mark.parametrize("seed", range(4))
def test_exact_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    log_probs = log_softmax(rng.normal(0, 1.5, (5, 3)))
    exact = labelling_log_probs(log_probs)
    hyps = ctc_prefix_beam_search(log_probs, beam_width=1000)
    assert {h.token_ids for h in hyps} == set(exact)  # every labelling, each once
    for h in hyps:
        assert h.log_prob == pytest.approx(exact[h.token_ids], abs=1e-9)
    assert hyps[0].token_ids == max(exact, key=exact.get)


def test_beats_greedy_where_greedy_is_wrong():
    # Each frame: blank 0.6, "1" 0.4. Best path is blank-blank (0.36); "1" has 0.24+0.24+0.16.
    probs = np.array([[0.6, 0.4], [0.6, 0.4]])
    assert greedy(np.log(probs)) == ()
    best = ctc_prefix_beam_search(np.log(probs), beam_width=2)[0]
    assert best.token_ids == (1,) and best.log_prob == pytest.approx(np.log(0.64))
    exact = labelling_log_probs(np.log(probs))
    assert best.log_prob > exact[()]
    # A longer case: the split mass on "1 2" beats the single best path.
    probs = np.array([[0.4, 0.35, 0.25], [0.4, 0.35, 0.25], [0.45, 0.1, 0.45], [0.5, 0.05, 0.45]])
    exact = labelling_log_probs(np.log(probs))
    beam = ctc_prefix_beam_search(np.log(probs), beam_width=4)[0]
    assert exact[beam.token_ids] > exact[greedy(np.log(probs))]
    assert beam.token_ids == max(exact, key=exact.get)


def test_beam_one_equals_greedy_on_peaked_posteriors():
    rng = np.random.default_rng(0)
    for _ in range(20):
        best = rng.integers(0, 5, 12)
        probs = np.full((12, 5), 0.05 / 4)
        probs[np.arange(12), best] = 0.95
        assert ctc_prefix_beam_search(np.log(probs), beam_width=1)[0].token_ids == greedy(np.log(probs))


def test_beam_one_can_differ_from_greedy_on_flat_posteriors():
    # Greedy takes "1" then "2" (0.4 each); beam 1 keeps "1", whose mass 0.4*0.6 beats "1 2" (0.16).
    probs = np.array([[0.3, 0.4, 0.3], [0.3, 0.3, 0.4]])
    assert greedy(np.log(probs)) == (1, 2)
    assert ctc_prefix_beam_search(np.log(probs), beam_width=1)[0].token_ids == (1,)


def test_length_and_batch_helper():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2, 6, 4))
    cut = ctc_prefix_beam_search(logits[1], 50, length=3)[0]
    assert cut == ctc_prefix_beam_search(logits[1, :3], 50)[0]
    batch = ctc_prefix_beam_search_batch(logits, [6, 3], beam_width=50)
    assert batch[0] == ctc_prefix_beam_search(logits[0], 50)[0] and batch[1] == cut


def test_lm_hook_and_insertion_bonus_rerank():
    probs = np.array([[0.6, 0.4], [0.6, 0.4]])  # acoustically "1" (0.64) beats "" (0.36)
    banned = ctc_prefix_beam_search(np.log(probs), 4, lm=lambda prefix, token: -10.0)[0]
    assert banned.token_ids == () and banned.score == pytest.approx(np.log(0.36))
    penalised = ctc_prefix_beam_search(np.log(probs), 4, insertion_bonus=-1.0)
    assert [h.token_ids for h in penalised][:2] == [(), (1,)]
    assert penalised[1].score == pytest.approx(np.log(0.64) - 1.0)
    assert penalised[1].log_prob == pytest.approx(np.log(0.64))


def test_text_from_symbols_or_callable():
    probs = np.log(np.eye(3)[[1, 0, 2, 2]] * 0.97 + 0.01)
    assert ctc_prefix_beam_search(probs, 3, decode=["_", "a", "b"])[0].text == "ab"
    assert ctc_prefix_beam_search(probs, 3, decode=lambda ids: "-".join(map(str, ids)))[0].text == "1-2"
    assert ctc_prefix_beam_search(probs, 3)[0].text is None


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ConfigError, match="beam_width"):
        ctc_prefix_beam_search(np.zeros((3, 4)), beam_width=0)
    with pytest.raises(ConfigError, match="one utterance"):
        ctc_prefix_beam_search(np.zeros((2, 3, 4)))
    with pytest.raises(ConfigError, match="symbol list"):
        ctc_prefix_beam_search(np.log(np.eye(3)[[2]] + 0.01), decode=["_", "a"])


def spells_listed_words(ids, symbols, words):
    return all(w in words for w in "".join(symbols[i] for i in ids).split())


@pytest.mark.parametrize("seed", range(3))
def test_lexicon_keeps_exactly_the_labellings_of_listed_words(seed):
    from zoo.decoding.lexicon import Lexicon

    symbols, words = ["", "a", "b", " "], {"ab", "b"}
    log_probs = log_softmax(np.random.default_rng(seed).normal(0, 1.5, (6, 4)))
    exact = labelling_log_probs(log_probs)
    listed = {y: lp for y, lp in exact.items() if spells_listed_words(y, symbols, words)}
    lexicon = Lexicon(words, symbols)
    hyps = ctc_prefix_beam_search(log_probs, beam_width=5000, lexicon=lexicon)
    complete = [h for h in hyps if lexicon.complete(h.token_ids)]
    assert {h.token_ids for h in complete} == set(listed)  # no labelling of listed words lost, none other kept
    for h in complete:
        assert h.log_prob == pytest.approx(listed[h.token_ids], abs=1e-9)
    assert hyps[0].token_ids == max(listed, key=listed.get)
    assert len(listed) < len(exact)  # the lexicon removed labellings: the check has teeth


def test_lexicon_corrects_a_misspelling():
    # Frames: a 0.4 / b 0.6, then blank, then b: the best labelling is "bb", not a word; "ab" is.
    probs = np.array([[0.0, 0.4, 0.6], [0.98, 0.01, 0.01], [0.0, 0.1, 0.9]]) + 1e-6
    from zoo.decoding.lexicon import Lexicon

    assert ctc_prefix_beam_search(np.log(probs), 4, decode=["", "a", "b"])[0].text == "bb"
    best = ctc_prefix_beam_search(np.log(probs), 4, decode=["", "a", "b"], lexicon=Lexicon(["ab"], ["", "a", "b"]))
    assert best[0].text == "ab"
