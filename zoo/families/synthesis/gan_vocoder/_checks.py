"""Argument checks shared by the GAN vocoder classes (private)."""

from __future__ import annotations

from zoo.errors import ConfigError


def positive_int(owner, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}: {name} must be an int >= {minimum}", received=repr(value),
                          expected=f"int >= {minimum}", fix=f"pass e.g. {name}={max(minimum, 1)}")
    return int(value)


def int_list(owner, name, value, minimum=1, length=None):
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{owner}: {name} must be a non-empty list of ints", received=repr(value),
                          expected="a list of ints", fix=f"pass e.g. {name}=[2, 3]")
    if length is not None and len(value) != length:
        raise ConfigError(f"{owner}: {name} needs one entry per stage", received=f"{len(value)} entries",
                          expected=f"{length} entries", fix=f"give {name} {length} values")
    return [positive_int(owner, name, v, minimum) for v in value]


def non_negative_float(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{owner}: {name} must be a number >= 0", received=repr(value), expected="float >= 0",
                          fix=f"pass e.g. {name}=1.0")
    return float(value)
