"""Beam search for attention encoder-decoders (LAS and alike) in numpy, outside the graph."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from zoo.decoding import _text
from zoo.decoding._scores import log_softmax
from zoo.decoding.hypothesis import Hypothesis
from zoo.errors import ConfigError


def attention_beam_search(step: Callable, initial_state, bos_id: int, eos_id: int,
                          beam_width: int = 4, max_length: int = 100, length_penalty: float = 0.0,
                          decode=None, normalize: bool = True, lexicon=None) -> list[Hypothesis]:
    """Left-to-right beam search of one utterance.

    Args:
        step: (tokens i32[N], state) -> (log_probs float[N, V], new state). N is the number of live
            hypotheses; state is any nest of arrays or tensors whose every leaf has leading axis N
            (the encoder memory included), because hypotheses are reordered with np.take along
            it. Scores are normalised with log_softmax, so logits work too (unless normalize=False).
        initial_state: the state for one hypothesis (leading axis 1).
        bos_id: first input token. eos_id: the token that ends a hypothesis.
        beam_width: live hypotheses kept per step.
        max_length: most tokens a hypothesis may have, eos included; live hypotheses that reach it
            are returned without an eos.
        length_penalty: alpha >= 0; hypotheses are ranked by log_prob / len ** alpha, len counting
            eos (0: plain log-probability, which favours short outputs).
        decode: tokenizer decode(ids) -> str or a symbol list, to fill Hypothesis.text.
        normalize: False when step returns scores that must be summed as they are (joint CTC-attention
            scores are not a distribution over the next token).
        lexicon: optional zoo.decoding.lexicon.Lexicon: tokens that would spell a word outside it are
            not kept, and eos only ends a hypothesis whose last word is complete.
    Returns:
        Up to beam_width Hypothesis, best first, token_ids without bos and eos.

    Each step expands every live hypothesis by every token and keeps the beam_width best
    continuations by log-probability; those ending in eos are finished, the others stay live
    (up to beam_width). With alpha = 0 the search stops as soon as no live hypothesis can beat the
    best finished one (log-probabilities only decrease), so a beam as wide as the number of
    sequences is exact. With alpha > 0 it stops once beam_width hypotheses finished.
    """
    for name, value in (("beam_width", beam_width), ("max_length", max_length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"attention_beam_search: {name} must be an int >= 1", received=value,
                              expected=">= 1", fix=f"pass {name}=4")
    if not length_penalty >= 0:
        raise ConfigError("attention_beam_search: length_penalty must be >= 0",
                          received=length_penalty, expected="alpha >= 0 (0: none, ~0.6-1: usual)",
                          fix="pass length_penalty=0.0")
    to_text = _text.text_fn(decode)

    def finish(ids, log_prob, length):
        score = log_prob / (length ** length_penalty) if length_penalty else log_prob
        return Hypothesis(tuple(ids), float(log_prob), float(score),
                          to_text(list(ids)) if to_text else None)

    live_ids = [()]
    live_lp = np.zeros(1)
    tokens = np.array([bos_id], np.int32)
    state = initial_state
    finished: list[Hypothesis] = []
    for length in range(1, max_length + 1):
        log_probs, state = step(tokens, state)
        log_probs = log_softmax(log_probs) if normalize else np.asarray(log_probs, np.float64)
        total = live_lp[:, None] + log_probs  # [N, V]
        order = np.argsort(-total, axis=None)
        rows, cols = np.unravel_index(order, total.shape)
        keep_rows, keep_cols = [], []
        rank = 0  # among the candidates the lexicon allows (all of them without one)
        for r, c in zip(rows, cols):
            if len(keep_rows) == beam_width or not np.isfinite(total[r, c]):
                break
            if lexicon is not None and not (lexicon.complete(live_ids[r]) if c == eos_id
                                            else lexicon.allows(live_ids[r], int(c))):
                continue
            rank += 1
            if c == eos_id:
                if rank <= beam_width:  # an eos outside the top beam_width is pruned
                    finished.append(finish(live_ids[r], total[r, c], length))
            else:
                keep_rows.append(r)
                keep_cols.append(c)
        if not keep_rows:
            break
        live_ids = [live_ids[r] + (int(c),) for r, c in zip(keep_rows, keep_cols)]
        live_lp = total[keep_rows, keep_cols]
        tokens = np.array(keep_cols, np.int32)
        index = np.array(keep_rows)
        state = tf.nest.map_structure(lambda x: np.take(np.asarray(x), index, axis=0), state)
        if length == max_length:
            finished.extend(finish(ids, lp, length) for ids, lp in zip(live_ids, live_lp))
            break
        if finished:
            if length_penalty == 0 and max(h.log_prob for h in finished) >= live_lp.max():
                break
            if length_penalty > 0 and len(finished) >= beam_width:
                break
    finished = sorted(finished, key=lambda h: -h.score)
    return (lexicon.prefer_complete(finished) if lexicon is not None else finished)[:beam_width]
