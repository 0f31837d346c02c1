"""Character tokenizer for CTC recognisers: blank 0, then space, apostrophe and a-z."""

from __future__ import annotations

import string

import numpy as np

from zoo.errors import ConfigError

DEFAULT_CHARACTERS = " '" + string.ascii_lowercase
BLANK = "<blank>"


class CharTokenizer:
    """Maps text to ids 1..len(characters); id 0 is the CTC blank and encodes no character.

    normalize=True runs zoo.text.normalize_text before encoding (lowercase, punctuation
    removed, spaces collapsed); with False the text must already use only `characters`.
    """

    def __init__(self, characters: str = DEFAULT_CHARACTERS, normalize: bool = False):
        if not isinstance(characters, str) or not characters:
            raise ConfigError("characters must be a non-empty string", received=repr(characters),
                              expected="e.g. \" 'abcdefghijklmnopqrstuvwxyz\"", fix="pass the characters as one string")
        repeated = sorted({c for c in characters if characters.count(c) > 1})
        if repeated:
            raise ConfigError("characters must be unique", received=repeated, expected="each character once",
                              fix="remove the repeated characters")
        if not isinstance(normalize, bool):
            raise ConfigError("normalize must be a bool", received=repr(normalize), expected="True or False",
                              fix="pass normalize=True or normalize=False")
        self.characters = characters
        self.normalize = normalize
        self._ids = {c: i + 1 for i, c in enumerate(characters)}

    @property
    def vocabulary(self) -> list[str]:
        """Token strings by id: [BLANK, *characters]."""
        return [BLANK, *self.characters]

    @property
    def vocabulary_size(self) -> int:
        return len(self.characters) + 1

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ConfigError("CharTokenizer.encode takes a string", received=type(text).__name__, expected="str",
                              fix="decode bytes first, e.g. text.decode('utf-8')")
        if self.normalize:
            from zoo.text.normalize import normalize_text

            text = normalize_text(text)
        unknown = sorted({c for c in text if c not in self._ids})
        if unknown:
            where = text.index(unknown[0])
            raise ConfigError(f"cannot encode characters {unknown} (first at position {where} of {text[:60]!r})",
                              received="".join(unknown), expected=f"only characters of {self.characters!r}",
                              fix="normalise the text with zoo.text.normalize_text (or CharTokenizer(normalize=True)) "
                                  "and write numbers and symbols in words")
        return [self._ids[c] for c in text]

    def decode(self, ids) -> str:
        """Ids -> text; blanks (0) are dropped. Repeats are kept: collapsing them is the CTC decoder's job."""
        values = checked_ids(ids, self.vocabulary_size, "characters")
        return "".join(self.characters[i - 1] for i in values if i != 0)

    def get_config(self) -> dict:
        return {"characters": self.characters, "normalize": self.normalize}

    @classmethod
    def from_config(cls, config: dict) -> "CharTokenizer":
        return cls(**checked_config(cls.__name__, config, ("characters", "normalize")))

    def __repr__(self) -> str:
        return f"CharTokenizer(characters={self.characters!r}, normalize={self.normalize})"


def checked_ids(ids, vocabulary_size: int, what: str) -> list[int]:
    """Token ids (any int array) -> list of ints, each in [0, vocabulary_size), or a ConfigError."""
    values = np.asarray(ids).reshape(-1)
    if values.size and (not np.issubdtype(values.dtype, np.integer) or values.min() < 0
                        or values.max() >= vocabulary_size):
        bad = [v for v in values.tolist() if not float(v).is_integer() or not 0 <= v < vocabulary_size]
        raise ConfigError("token ids out of range", received=bad[:10], expected=f"ints in [0, {vocabulary_size - 1}]",
                          fix=f"decode ids produced by this tokenizer (same {what})")
    return values.tolist()


def checked_config(class_name: str, config, keys) -> dict:
    """A tokenizer's get_config() dict, checked: a dict with no keys but `keys`."""
    if not isinstance(config, dict):
        raise ConfigError("tokenizer config must be a dict", received=type(config).__name__,
                          expected="the dict of get_config()", fix="pass tokenizer.get_config()")
    unknown = sorted(set(config) - set(keys))
    if unknown:
        raise ConfigError(f"unknown {class_name} config keys", received=unknown, expected=", ".join(keys),
                          fix="pass the dict of get_config()")
    return config
