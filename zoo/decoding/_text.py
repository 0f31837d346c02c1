"""Ids -> text for the decoders: a tokenizer's decode(ids) callable, or a list of symbols."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zoo.errors import ConfigError


def text_fn(decode) -> Callable[[list[int]], str] | None:
    """None | decode(ids) -> str | symbols (str per id, joined with "") -> a callable or None."""
    if decode is None or callable(decode):
        return decode
    if isinstance(decode, Sequence) and not isinstance(decode, (str, bytes)):
        symbols = list(decode)

        def join(ids):
            try:
                return "".join(symbols[i] for i in ids)
            except IndexError:
                raise ConfigError("decode: token id outside the symbol list", received=max(ids),
                                  expected=f"ids < {len(symbols)}",
                                  fix="pass the symbol list of the model's vocabulary") from None
        return join
    raise ConfigError("decode must be a callable ids -> str or a list of symbols",
                      received=type(decode).__name__, expected="callable | list[str] | None",
                      fix="pass tokenizer.decode or the vocabulary list")
