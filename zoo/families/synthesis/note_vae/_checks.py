"""Constructor-argument checks shared by the NoteVAE layers (one wording for every error)."""

from __future__ import annotations

from zoo.errors import ConfigError


def positive_int(owner: str, name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}: {name} must be an int >= {minimum}", received=repr(value),
                          expected=f"int >= {minimum}", fix=f"pass e.g. {name}={max(minimum, 16)}")
    return int(value)


def int_list(owner: str, name: str, value, minimum: int = 1) -> list:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{owner}: {name} must be a list of ints", received=repr(value),
                          expected="e.g. [32, 64, 128, 128]", fix=f"pass {name} as a list")
    out = [positive_int(owner, f"{name}[{i}]", v, minimum) for i, v in enumerate(value)]
    if not out:
        raise ConfigError(f"{owner}: {name} must not be empty", received="[]", expected="at least one entry",
                          fix=f"pass e.g. {name}=[32, 64, 128, 128]")
    return out


def check_divisible(owner: str, num_frames: int, num_mel_bins: int, num_layers: int) -> None:
    factor = 2 ** num_layers
    if num_frames % factor or num_mel_bins % factor:
        raise ConfigError(f"{owner}: frames and mel bins must be divisible by 2 ** len(channels)",
                          received=f"num_frames={num_frames}, num_mel_bins={num_mel_bins}, {num_layers} layers",
                          expected=f"multiples of {factor}", fix="use 64 x 64 features with 4 layers")
