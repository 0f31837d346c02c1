"""The numpy beam searches' one normalisation: float64 log-softmax over the last axis (scipy)."""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax as _scipy_log_softmax


def log_softmax(x):
    """log-probabilities float64[..., V] of scores [..., V] (float64 keeps long sums of logs exact)."""
    return _scipy_log_softmax(np.asarray(x, np.float64), axis=-1)
