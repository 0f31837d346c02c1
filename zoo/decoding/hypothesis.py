"""The result type of the beam searches that run outside the graph."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hypothesis:
    """One decoded label sequence.

    Attributes:
        token_ids: label ids without blank, bos or eos (tuple of int).
        log_prob: natural-log score of the sequence under the decoder (float; for CTC and RNN-T the
            log-probability summed over the alignments that the search kept, for the attention
            decoder the sum of step log-probabilities including eos; in joint CTC-attention decoding
            (1 - lambda) log p_att + lambda log p_ctc).
        score: the value hypotheses are ranked by (log_prob, plus language-model terms or divided by
            a length penalty where the search applies them).
        text: decode(token_ids) when a decode callable or symbol list was given, else None.
    """

    token_ids: tuple[int, ...]
    log_prob: float
    score: float
    text: str | None = None
