"""Transcript normalisation shared by the speech corpora and the recognisers.

Text becomes lowercase letters, apostrophes and single spaces: accents are folded to ASCII
(NFKD), curly apostrophes become "'", other punctuation and symbols become spaces, apostrophes
that only quote (at a word's edge) are dropped. Digits are kept, so a tokenizer can say that a
number must be written in words (the corpora write numbers, dates and times in words).
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_OTHER = re.compile(r"[^a-z0-9' ]+")
_EDGE_QUOTES = re.compile(r"(?<![a-z0-9])'+|'+(?![a-z0-9])")


def normalize_text(text: str) -> str:
    """'Turn ON the kitchen-light, please!' -> 'turn on the kitchen light please'."""
    if not isinstance(text, str):
        from zoo.errors import ConfigError

        raise ConfigError("text must be a string", received=type(text).__name__, expected="str",
                          fix="decode bytes first, e.g. text.decode('utf-8')")
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _OTHER.sub(" ", text)
    text = _EDGE_QUOTES.sub(" ", text)
    return " ".join(text.split())
