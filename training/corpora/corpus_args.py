"""Argument checks every corpus generator shares (scale, seed, worker count), with one wording."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError


def check_args(scale, seed, workers, scales) -> None:
    if scale not in scales:
        raise ConfigError("unknown corpus scale", received=repr(scale), expected=f"one of {sorted(scales)}",
                          fix='use scale="full" (training) or "tiny" (tests)')
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed must be a non-negative int", received=repr(seed), expected="int >= 0",
                          fix="pass e.g. seed=0")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers must be an int >= 1", received=repr(workers), expected="int >= 1",
                          fix="pass workers=2")
