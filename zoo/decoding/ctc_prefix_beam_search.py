"""CTC prefix beam search (Hannun et al. 2014) in numpy, outside the graph.

Each prefix keeps two log-probabilities: of the frame paths that collapse to it and end in a
blank (p_b) or in its last label (p_nb); a repeated label extends the prefix only after a blank.
Without pruning (beam_width >= number of prefixes) the scores are exact labelling
probabilities, so the best hypothesis is the most probable labelling. With beam_width=1 the
search keeps the one most probable prefix per frame, which is not always the best path that
ctc_greedy returns: prefix merging can prefer another labelling (see the tests).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoo.decoding import _text
from zoo.decoding._scores import log_softmax
from zoo.decoding.hypothesis import Hypothesis
from zoo.errors import ConfigError

BLANK_ID = 0
_NEG = -np.inf


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"ctc_prefix_beam_search: {name} must be a positive int", received=value,
                          expected=">= 1", fix=f"pass {name}=8 (or any int >= 1)")
    return int(value)


def ctc_prefix_beam_search(logits, beam_width: int = 8, *, length: int | None = None,
                           token_top_k: int | None = None,
                           lm: Callable[[tuple, int], float] | None = None, lm_weight: float = 1.0,
                           insertion_bonus: float = 0.0, decode=None, lexicon=None) -> list[Hypothesis]:
    """Beam search over label prefixes of one utterance.

    Args:
        logits: float[T, V] scores or log-probabilities of one utterance (log_softmax is applied,
            which leaves log-probabilities unchanged); id 0 is the blank.
        beam_width: prefixes kept after each frame.
        length: valid frames (default T).
        token_top_k: consider only the k most probable labels per frame (default: all V).
        lm: optional hook lm(prefix, token) -> natural-log score of appending token to prefix
            (tuple of ids). A word-level LM returns 0 inside a word and the word's log-probability
            when token closes it (e.g. the word delimiter id).
        lm_weight: weight of the lm score. insertion_bonus: added per label (balances the LM).
        decode: tokenizer decode(ids) -> str or a symbol list, to fill Hypothesis.text.
        lexicon: optional zoo.decoding.lexicon.Lexicon: prefixes that spell a word outside it are
            not extended, and only hypotheses whose last word is complete are returned (all if none is).
    Returns:
        Up to beam_width Hypothesis, best first. log_prob is the acoustic log-probability of the
        labelling (summed over the kept paths); score = log_prob + lm_weight * sum(lm) +
        insertion_bonus * len(token_ids), the ranking key.
    """
    log_probs = log_softmax(logits)
    if log_probs.ndim != 2:
        raise ConfigError("ctc_prefix_beam_search: logits must be [frames, vocab] (one utterance)",
                          received=f"shape {log_probs.shape}", expected="rank 2",
                          fix="loop over the batch and pass logits[b, :length[b]]")
    beam_width = _positive_int("beam_width", beam_width)
    frames = log_probs.shape[0] if length is None else min(int(length), log_probs.shape[0])
    vocab = log_probs.shape[1]
    top_k = vocab - 1 if token_top_k is None else min(_positive_int("token_top_k", token_top_k),
                                                      vocab - 1)
    to_text = _text.text_fn(decode)

    beams = {(): (0.0, _NEG)}  # prefix -> (p_b, p_nb)
    bonus = {(): 0.0}  # prefix -> lm and insertion terms, which depend only on the prefix

    def extension_bonus(prefix, token):
        if (prefix + (token,)) not in bonus:
            extra = insertion_bonus + (lm_weight * float(lm(prefix, token)) if lm is not None else 0.0)
            bonus[prefix + (token,)] = bonus[prefix] + extra

    for t in range(frames):
        row = log_probs[t]
        labels = np.argsort(-row[1:])[:top_k] + 1
        nxt: dict[tuple, list] = {}

        def add(prefix, which, value):
            entry = nxt.setdefault(prefix, [_NEG, _NEG])
            entry[which] = np.logaddexp(entry[which], value)

        for prefix, (p_b, p_nb) in beams.items():
            total = np.logaddexp(p_b, p_nb)
            add(prefix, 0, total + row[BLANK_ID])
            for c in labels:
                c = int(c)
                repeat = bool(prefix) and c == prefix[-1]
                if repeat:
                    add(prefix, 1, p_nb + row[c])  # repeat without a blank: same labelling
                if lexicon is not None and not lexicon.allows(prefix, c):
                    continue
                extension_bonus(prefix, c)
                add(prefix + (c,), 1, (p_b if repeat else total) + row[c])
        # Prefixes that need more frames than seen (repeats) have probability 0: never kept.
        ranked = sorted(((prefix, p) for prefix, p in nxt.items() if np.logaddexp(*p) > _NEG),
                        key=lambda kv: -(np.logaddexp(*kv[1]) + bonus[kv[0]]))
        beams = {prefix: tuple(p) for prefix, p in ranked[:beam_width]}

    out = []
    for prefix, (p_b, p_nb) in beams.items():
        log_prob = float(np.logaddexp(p_b, p_nb))
        out.append(Hypothesis(prefix, log_prob, log_prob + bonus[prefix],
                              to_text(list(prefix)) if to_text else None))
    out = sorted(out, key=lambda h: -h.score)
    return lexicon.prefer_complete(out) if lexicon is not None else out


def ctc_prefix_beam_search_batch(logits, logit_length=None, beam_width: int = 8,
                                 **kwargs) -> list[Hypothesis]:
    """Best hypothesis per utterance: logits float[B, T, V], logit_length int[B] (default T).
    Other keyword arguments as ctc_prefix_beam_search. Returns a list of B Hypothesis."""
    logits = np.asarray(logits)
    lengths = [logits.shape[1]] * logits.shape[0] if logit_length is None else np.asarray(logit_length)
    return [ctc_prefix_beam_search(logits[b], beam_width, length=int(lengths[b]), **kwargs)[0]
            for b in range(logits.shape[0])]
