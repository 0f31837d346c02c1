"""WER/CER and the per-utterance breakdown against hand-computed edit counts."""

import pytest

from zoo.errors import ConfigError
from zoo.metrics.asr import UtteranceErrors, cer, char_errors, wer, wer_difference, word_errors

REFS = ["the cat sat on the mat", "hello world", "a b c"]
HYPS = ["the cat sit on mat", "hello  big world ", "a b c"]
# utt 0: sat->sit (S), "the" deleted (D): 6 words, 2 errors
# utt 1: "big" inserted (I): 2 words, 1 error (extra spaces ignored)
# utt 2: exact: 3 words


def test_corpus_wer_by_hand():
    assert wer(REFS, HYPS) == pytest.approx(3 / 11)
    assert wer("a b", "a b") == 0.0
    assert wer(["a"], ["b c d"]) == pytest.approx(3.0)  # can exceed 1


def test_word_breakdown_by_hand():
    rows = word_errors(REFS, HYPS)
    assert [(r.hits, r.substitutions, r.deletions, r.insertions) for r in rows] == \
        [(4, 1, 1, 0), (2, 0, 0, 1), (3, 0, 0, 0)]
    assert [r.reference_length for r in rows] == [6, 2, 3]
    assert rows[0].error_rate == pytest.approx(2 / 6) and rows[1].error_rate == pytest.approx(0.5)
    assert rows[1].reference == "hello world" and rows[1].hypothesis == "hello  big world "
    assert sum(r.errors for r in rows) / sum(r.reference_length for r in rows) == wer(REFS, HYPS)


def test_cer_and_character_breakdown_by_hand():
    # "kitten" -> "sitting": k->s, e->i (S, S), g inserted: 3 edits over 6 characters.
    assert cer(["kitten"], ["sitting"]) == pytest.approx(3 / 6)
    rows = char_errors(["kitten", "ab c"], ["sitting", "abc"])
    assert (rows[0].substitutions, rows[0].insertions, rows[0].deletions) == (2, 1, 0)
    assert (rows[1].hits, rows[1].deletions, rows[1].reference_length) == (3, 1, 4)  # the space
    assert cer(["kitten", "ab c"], ["sitting", "abc"]) == pytest.approx(4 / 10)


def test_empty_reference_and_hypothesis():
    rows = word_errors(["", "a b"], ["x y", ""])
    assert (rows[0].insertions, rows[0].reference_length, rows[0].error_rate) == (2, 0, 2.0)
    assert (rows[1].deletions, rows[1].error_rate) == (2, 1.0)
    assert UtteranceErrors("", "", 0, 0, 0, 0).error_rate == 0.0
    assert wer(["a b", ""], ["a b", "x"]) == pytest.approx(1 / 2)


def test_mismatched_or_bad_inputs_are_clear_errors():
    with pytest.raises(ConfigError, match="2 references, 1 hypotheses"):
        wer(["a", "b"], ["a"])
    with pytest.raises(ConfigError, match="differ in length"):
        char_errors(["a"], ["a", "b"])
    with pytest.raises(ConfigError, match="no utterances"):
        cer([], [])
    with pytest.raises(ConfigError, match="index 1"):
        word_errors(["a", "b"], ["a", [1, 2]])
    with pytest.raises(ConfigError, match="list of strings"):
        wer(["a"], 3)


def test_wer_difference_paired_bootstrap_against_the_normal_approximation():
    import numpy as np

    refs = ["a b c d"] * 400
    worse = ["a b c x" if i % 2 else "a b c d" for i in range(400)]  # one substitution on odd utterances
    better = ["a b x d" if i % 3 == 0 else "a b c d" for i in range(400)]  # one on every third
    same = wer_difference(refs, worse, list(worse))
    assert (same.difference, same.low, same.high, same.share_better, same.resamples) == (0.0, 0.0, 0.0, 0.0, 0)
    result = wer_difference(refs, worse, better, resamples=4000)
    assert result.difference == pytest.approx(wer(refs, better) - wer(refs, worse))
    # per-utterance differences d_i (in words of 4): the mean's standard error is sd(d) / sqrt(n)
    d = np.array([(i % 3 == 0) - (i % 2) for i in range(400)], float) / 4
    half_width = 1.96 * d.std() / np.sqrt(len(d))
    assert result.low == pytest.approx(result.difference - half_width, abs=0.15 * half_width)
    assert result.high == pytest.approx(result.difference + half_width, abs=0.15 * half_width)
    assert result.high < 0 and result.share_better > 0.99
    # better on every utterance: every resample says so
    everywhere = wer_difference(["a b", "c d", "e f"], ["x y", "x d", "x f"], ["a y", "c d", "e f"], resamples=500)
    assert everywhere.share_better == 1.0 and everywhere.high < 0
    with pytest.raises(ConfigError, match="differ in length"):
        wer_difference(refs, worse, better[:3])


def test_wer_difference_resampling_groups_sees_the_voices_disagree():
    # four voices of 100 utterances: the candidate is better on two, worse on one, equal on one
    refs = ["a b"] * 400
    groups = [f"voice{i // 100}" for i in range(400)]
    base = ["a b" if i // 100 == 2 else "a x" for i in range(400)]
    cand = ["a x" if i // 100 in (2, 3) else "a b" for i in range(400)]
    by_utterance = wer_difference(refs, base, cand, resamples=2000)
    by_voice = wer_difference(refs, base, cand, groups=groups, resamples=2000)
    assert by_voice.difference == by_utterance.difference == pytest.approx((-200 + 100) / 800)
    assert by_utterance.high < 0  # 400 utterances look sure ...
    assert by_voice.low < 0 < by_voice.high  # ... four voices are not
    # one utterance per group is the utterance bootstrap itself
    alone = wer_difference(refs, base, cand, groups=[f"{i:03d}" for i in range(400)], resamples=2000)
    assert (alone.low, alone.high, alone.share_better) == pytest.approx(
        (by_utterance.low, by_utterance.high, by_utterance.share_better))
    one_voice = wer_difference(refs, base, cand, groups=["v"] * 400)
    assert (one_voice.low, one_voice.high, one_voice.resamples) == (one_voice.difference, one_voice.difference, 0)
    with pytest.raises(ConfigError, match="one label per utterance"):
        wer_difference(refs, base, cand, groups=groups[:10])
