"""Time-synchronous RNN-T beam search in numpy, outside the graph.

This is the simpler frame-synchronous variant of Graves' (2012) beam search, as in Saon et al.
2020 / Tripathi et al. 2019: at each frame every kept hypothesis may emit 0..max_symbols_per_frame
labels and must then emit the blank that ends the frame. Expansions are scored level by level
(level s = s labels emitted in this frame), each level pruned to beam_width; hypotheses with the
same labels are merged by summing their probabilities (log-add-exp), whatever frame or level they
emitted their labels in. Without pruning (a beam wider than the number of label sequences) the
log_prob of a hypothesis is exactly log p(y | x) over the alignments that emit at most
max_symbols_per_frame labels per frame. Graves' prefix-probability update is not needed because
the merge happens at every frame boundary.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.decoding import _text
from zoo.decoding._scores import log_softmax
from zoo.decoding.hypothesis import Hypothesis
from zoo.errors import ConfigError

BLANK_ID = 0


def _stack_states(states):
    return _map(lambda *xs: np.concatenate([np.asarray(x) for x in xs], axis=0), *states)


def _map(fn, *structures):
    return tf.nest.map_structure(fn, *structures)


def rnnt_beam_search(encoder_out, predictor_step, joint, initial_state, beam_width: int = 4, *,
                     length: int | None = None, max_symbols_per_frame: int = 4,
                     decode=None, lexicon=None) -> list[Hypothesis]:
    """Beam search over label sequences of one utterance (blank id 0).

    Args:
        encoder_out: float[T, D] encoder frames of one utterance.
        predictor_step, joint, initial_state: the callables of rnnt_greedy, called eagerly on
            batches of hypotheses (tokens i32[N], states with leading axis N; joint on [N, D] and
            [N, P]); their outputs are converted with np.asarray. initial_state(1) is called once.
        beam_width: hypotheses kept per frame and per level within a frame.
        length: valid frames (default T).
        max_symbols_per_frame: labels a frame may emit.
        decode: tokenizer decode(ids) -> str or a symbol list, to fill Hypothesis.text.
        lexicon: optional zoo.decoding.lexicon.Lexicon: labels that would spell a word outside it are
            not expanded, and only hypotheses whose last word is complete are returned (all if none is).
    Returns:
        Up to beam_width Hypothesis, best first; log_prob (= score) is the log-probability summed
        over the alignments the search kept.
    """
    for name, value in (("beam_width", beam_width), ("max_symbols_per_frame", max_symbols_per_frame)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"rnnt_beam_search: {name} must be an int >= 1", received=value,
                              expected=">= 1", fix=f"pass {name}=4")
    encoder_out = np.asarray(encoder_out)
    if encoder_out.ndim != 2:
        raise ConfigError("rnnt_beam_search: encoder_out must be [frames, features] (one utterance)",
                          received=f"shape {encoder_out.shape}", expected="rank 2",
                          fix="loop over the batch and pass encoder_out[b, :length[b]]")
    frames = encoder_out.shape[0] if length is None else min(int(length), encoder_out.shape[0])
    to_text = _text.text_fn(decode)

    prediction, state = predictor_step(np.array([BLANK_ID], np.int32), initial_state(1))
    cache = {(): (np.asarray(prediction)[0], _map(np.asarray, state))}  # labels -> (pred [P], state [1,...])

    def predict(keys):
        """Fill the cache for label sequences whose parents are cached (one batched call)."""
        missing = [y for y in keys if y not in cache]
        if not missing:
            return
        tokens = np.array([y[-1] for y in missing], np.int32)
        preds, states = predictor_step(tokens, _stack_states([cache[y[:-1]][1] for y in missing]))
        preds = np.asarray(preds)
        states = _map(np.asarray, states)
        for i, y in enumerate(missing):
            cache[y] = (preds[i], _map(lambda x, i=i: x[i:i + 1], states))

    kept = {(): 0.0}
    for t in range(frames):
        closed: dict[tuple, float] = {}
        level = kept
        for s in range(max_symbols_per_frame + 1):
            keys = list(level)
            predict(keys)
            enc = np.repeat(encoder_out[t][None], len(keys), axis=0)
            log_probs = log_softmax(joint(enc, np.stack([cache[y][0] for y in keys])))
            scores = np.array([level[y] for y in keys])
            for i, y in enumerate(keys):
                closed[y] = np.logaddexp(closed.get(y, -np.inf), scores[i] + log_probs[i, BLANK_ID])
            if s == max_symbols_per_frame:
                break
            ext = scores[:, None] + log_probs[:, 1:]  # [N, V-1]
            level = {}
            for i, k in zip(*np.unravel_index(np.argsort(-ext, axis=None), ext.shape)):
                if len(level) == beam_width or ext[i, k] == -np.inf:
                    break
                if lexicon is None or lexicon.allows(keys[i], int(k) + 1):
                    level[keys[i] + (int(k) + 1,)] = float(ext[i, k])
            if not level:
                break
        ranked = sorted(closed.items(), key=lambda kv: -kv[1])[:beam_width]
        kept = dict(ranked)
    out = [Hypothesis(y, float(lp), float(lp), to_text(list(y)) if to_text else None)
           for y, lp in sorted(kept.items(), key=lambda kv: -kv[1])]
    return lexicon.prefer_complete(out) if lexicon is not None else out
