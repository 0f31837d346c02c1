"""Speech-recognition metrics with jiwer: corpus WER and CER, a per-utterance error breakdown, and a paired
bootstrap of the WER difference between two recognisers (scipy.stats.bootstrap).

Text is compared as given after jiwer's default transforms: words are split on whitespace
(leading, trailing and repeated spaces ignored); characters include the single spaces between
words. Normalise case and punctuation before calling (e.g. with the tokenizer's normaliser).
Corpus rates are (S + D + I) / N summed over all utterances, N the number of reference words
(or characters); when the references are all empty jiwer returns the number of insertions, and
the per-utterance error_rate follows the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import numpy as np

from zoo.errors import ConfigError


@dataclass(frozen=True)
class UtteranceErrors:
    """Edit counts of one utterance (words or characters, as requested).

    Attributes: reference, hypothesis (str); hits, substitutions, deletions, insertions (int);
    reference_length = hits + substitutions + deletions; error_rate (float, see module doc).
    """

    reference: str
    hypothesis: str
    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def reference_length(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def error_rate(self) -> float:
        n = self.reference_length
        return self.errors / n if n else float(self.insertions)


def _check(references, hypotheses) -> tuple[list[str], list[str]]:
    def as_list(name, value):
        if isinstance(value, str):
            return [value]
        if not isinstance(value, Sequence):
            raise ConfigError(f"{name} must be a list of strings", received=type(value).__name__,
                              expected="list[str] (one entry per utterance)",
                              fix=f"pass {name} as a list, e.g. [text]")
        bad = [i for i, v in enumerate(value) if not isinstance(v, str)]
        if bad:
            raise ConfigError(f"{name} must contain only strings",
                              received=f"{type(value[bad[0]]).__name__} at index {bad[0]}",
                              expected="str per utterance",
                              fix="decode token ids to text first (tokenizer.decode)")
        return list(value)

    refs = as_list("references", references)
    hyps = as_list("hypotheses", hypotheses)
    if len(refs) != len(hyps):
        raise ConfigError("references and hypotheses differ in length",
                          received=f"{len(refs)} references, {len(hyps)} hypotheses",
                          expected="one hypothesis per reference, in the same order",
                          fix="align both lists by utterance id; use '' for an empty hypothesis")
    if not refs:
        raise ConfigError("no utterances to score", received="0 references",
                          expected="at least one reference", fix="pass the evaluation set's transcripts")
    return refs, hyps


def wer(references: Sequence[str] | str, hypotheses: Sequence[str] | str) -> float:
    """Corpus word error rate (float >= 0; may exceed 1 with many insertions)."""
    refs, hyps = _check(references, hypotheses)
    return float(jiwer.process_words(refs, hyps).wer)


def cer(references: Sequence[str] | str, hypotheses: Sequence[str] | str) -> float:
    """Corpus character error rate (spaces between words count as characters)."""
    refs, hyps = _check(references, hypotheses)
    return float(jiwer.process_characters(refs, hyps).cer)


def _breakdown(output, refs, hyps) -> list[UtteranceErrors]:
    out = []
    for ref, hyp, chunks in zip(refs, hyps, output.alignments):
        counts = {"equal": 0, "substitute": 0, "delete": 0, "insert": 0}
        for chunk in chunks:
            span = chunk.hyp_end_idx - chunk.hyp_start_idx if chunk.type == "insert" \
                else chunk.ref_end_idx - chunk.ref_start_idx
            counts[chunk.type] += span
        out.append(UtteranceErrors(ref, hyp, counts["equal"], counts["substitute"],
                                   counts["delete"], counts["insert"]))
    return out


def word_errors(references: Sequence[str] | str,
                hypotheses: Sequence[str] | str) -> list[UtteranceErrors]:
    """Per-utterance word hits, substitutions, deletions and insertions (one entry per pair)."""
    refs, hyps = _check(references, hypotheses)
    return _breakdown(jiwer.process_words(refs, hyps), refs, hyps)


def char_errors(references: Sequence[str] | str,
                hypotheses: Sequence[str] | str) -> list[UtteranceErrors]:
    """Per-utterance character hits, substitutions, deletions and insertions."""
    refs, hyps = _check(references, hypotheses)
    return _breakdown(jiwer.process_characters(refs, hyps), refs, hyps)


@dataclass(frozen=True)
class WerDifference:
    """WER of `candidate` minus WER of `reference` on the same utterances, with a paired bootstrap.

    Attributes: difference (float, negative when the candidate is better); low, high (the interval's
    bounds); share_better (fraction of resamples in which the candidate's WER is lower); resamples (int, 0
    when nothing was resampled: one utterance or group, or equal errors on every one).
    """

    difference: float
    low: float
    high: float
    share_better: float
    resamples: int


def wer_difference(references: Sequence[str], reference_hypotheses: Sequence[str],
                   candidate_hypotheses: Sequence[str], *, groups: Sequence | None = None,
                   confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> WerDifference:
    """How sure a split is that one recogniser beats another: both decode the same utterances, which
    scipy.stats.bootstrap resamples with replacement (paired: one draw for both), and each resample's
    corpus WER difference is (errors_b - errors_a) / words. Utterances that share speakers are not
    independent, so this interval need not hold for another set of voices.

    groups: one label per utterance (e.g. its voice) to resample whole groups instead (a cluster
    bootstrap): each group's errors and words are summed first. It answers the question a held-out-voice
    split asks (would other voices agree?), but from few groups its interval is coarse and can come out
    narrower than the utterance one, so it is no stricter check."""
    from scipy.stats import bootstrap

    refs, ref_hyps = _check(references, reference_hypotheses)
    _, cand_hyps = _check(references, candidate_hypotheses)
    a, b = word_errors(refs, ref_hyps), word_errors(refs, cand_hyps)
    errors_a = np.array([u.errors for u in a], float)
    errors_b = np.array([u.errors for u in b], float)
    words = np.array([u.reference_length for u in a], float)
    if words.sum() == 0:
        raise ConfigError("no reference words to score", received="empty references",
                          expected="references with words", fix="pass the evaluation set's transcripts")
    if groups is not None:
        errors_a, errors_b, words = _group_sums(groups, len(refs), errors_a, errors_b, words)

    def statistic(ea, eb, n, axis=-1):
        return (eb.sum(axis) - ea.sum(axis)) / np.maximum(n.sum(axis), 1)

    observed = float(statistic(errors_a, errors_b, words))
    if len(words) < 2 or np.array_equal(errors_a, errors_b):  # nothing to resample, or every resample gives 0
        return WerDifference(observed, observed, observed, 0.0, 0)
    result = bootstrap((errors_a, errors_b, words), statistic, paired=True, vectorized=True, n_resamples=resamples,
                       confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    return WerDifference(observed, float(result.confidence_interval.low), float(result.confidence_interval.high),
                         float(np.mean(result.bootstrap_distribution < 0)), resamples)


def _group_sums(groups: Sequence, count: int, *columns: np.ndarray) -> list[np.ndarray]:
    """Each column summed per group label (groups sorted by label)."""
    if isinstance(groups, str) or len(groups) != count:
        raise ConfigError("groups must give one label per utterance",
                          received=f"{type(groups).__name__} of length {len(groups)}", expected=f"{count} labels",
                          fix="pass e.g. the voice of each utterance, in the order of the references")
    labels, index = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return [np.bincount(index, weights=column, minlength=len(labels)) for column in columns]
