"""Speech-recognition metrics with jiwer: corpus WER and CER and a per-utterance error breakdown.

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
