"""CTC prefix scores for joint CTC-attention decoding (Watanabe et al. 2017, "Hybrid CTC/attention
architecture for end-to-end speech recognition", IEEE JSTSP 11(8), Algorithm 2), in numpy.

The prefix score psi(h) = log sum over every label sequence that starts with h of p_ctc(. | x): the
CTC probability that the transcript begins with h. A left-to-right decoder adds psi(h + c) - psi(h)
when it extends h by c, and log p_ctc(h | x) - psi(h) when it ends h, so the increments of a
finished hypothesis sum to its whole CTC log-probability.
"""

from __future__ import annotations

import numpy as np

from zoo.decoding._scores import log_softmax
from zoo.errors import ConfigError

BLANK_ID = 0


class CTCPrefixScorer:
    """Prefix scores of one utterance's CTC outputs.

    Args:
        logits: float[T, V] CTC scores of the valid frames (log-softmax is taken here); id 0 is blank.

    A prefix's state is (r [T, 2], psi): r[t] holds the log-probabilities of the prefix having been
    emitted by frame t with the path ending in a label (column 0) or in a blank (column 1).
    """

    def __init__(self, logits):
        logits = np.asarray(logits)
        if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 2:
            raise ConfigError("CTCPrefixScorer expects the CTC logits of one utterance",
                              received=f"shape {logits.shape}", expected="[T >= 1, V >= 2] (blank id 0)")
        self.log_probs = log_softmax(logits)

    def initial_state(self):
        """The empty prefix: nothing emitted, only blanks so far; psi = log 1."""
        r = np.full((self.log_probs.shape[0], 2), -np.inf)
        r[:, 1] = np.cumsum(self.log_probs[:, BLANK_ID])
        return r, 0.0

    def extend(self, r, last, candidates):
        """Scores of N prefixes extended by each of C candidate labels, all at once.

        Args:
            r: float[N, T, 2] the prefixes' states.
            last: int[N] each prefix's last label, -1 for the empty prefix.
            candidates: int[C] labels (not the blank).
        Returns:
            (psi float[N, C], r float[N, C, T, 2]) of every extended prefix.
        """
        x = self.log_probs
        c = np.asarray(candidates, np.int64).reshape(-1)
        last = np.asarray(last, np.int64).reshape(-1)
        r = np.asarray(r, np.float64)
        if np.any(c == BLANK_ID):
            raise ConfigError("CTC prefix extensions must be labels", received=c.tolist(),
                              expected="ids != 0 (the blank)")
        if r.shape != (last.size, x.shape[0], 2):
            raise ConfigError("CTCPrefixScorer.extend: one state [T, 2] per prefix", received=f"r {r.shape}, "
                              f"last {last.shape}", expected=f"r [N, {x.shape[0]}, 2] and last [N]")
        frames = x.shape[0]
        xc = x[:, c]  # [T, C]
        new = np.full((last.size, c.size, frames, 2), -np.inf)
        # only the empty prefix may emit its first label at frame 0
        new[:, :, 0, 0] = np.where((last < 0)[:, None], xc[0][None, :], -np.inf)
        psi = new[:, :, 0, 0].copy()
        # a repeated label needs a blank in between: the prefix's label-ending paths only count if c != last
        from_label = np.where(c[None, :] == last[:, None], -np.inf, 0.0)  # [N, C]
        for t in range(1, frames):
            phi = np.logaddexp(r[:, t - 1, 1][:, None], r[:, t - 1, 0][:, None] + from_label)  # prefix done
            new[:, :, t, 0] = np.logaddexp(new[:, :, t - 1, 0], phi) + xc[t]
            new[:, :, t, 1] = np.logaddexp(new[:, :, t - 1, 0], new[:, :, t - 1, 1]) + x[t, BLANK_ID]
            psi = np.logaddexp(psi, phi + xc[t])
        return psi, new

    @staticmethod
    def final(r):
        """log p_ctc(prefix | x) of states r [..., T, 2]: each prefix taken as the whole transcript."""
        r = np.asarray(r)
        return np.logaddexp(r[..., -1, 0], r[..., -1, 1])
