"""Word-piece tokenizer (WordPiece, Schuster & Nakajima 2012; the BERT convention) for recognisers
whose outputs are whole words where the vocabulary knows them and characters where it does not.

Pieces are plain strings: a word-initial piece as written ("timer"), a word-internal piece with a
"##" prefix ("##s"). Every single character is a piece both ways, so any normalised text encodes:
each word becomes its longest known prefix, then the longest known piece of the rest, and so on
(greedy longest match). Id 0 is the CTC/RNN-T blank; ids 1.. are the pieces in order.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable

from zoo.errors import ConfigError
from zoo.text.char_tokenizer import checked_config, checked_ids

DEFAULT_CHARACTERS = "'" + string.ascii_lowercase  # the characters of normalised words
CONTINUATION = "##"
BLANK = "<blank>"


class WordPieceTokenizer:
    """Maps text to piece ids 1..len(pieces); id 0 is the blank and writes nothing.

    symbols[i] is what id i writes into the text: " " + piece for a word-initial piece, the piece
    without "##" for a word-internal one; the text is their concatenation without its leading space
    (so a recogniser's graph can write text with a gather, a string join and a strip).
    """

    word_initial_space = True  # symbols start words with a space; the joined text is stripped

    def __init__(self, pieces, normalize: bool = True):
        if isinstance(pieces, str) or not isinstance(pieces, (list, tuple)) or not pieces:
            raise ConfigError("WordPieceTokenizer pieces must be a non-empty list of strings", received=repr(pieces)[:80],
                              expected="e.g. ['a', 'b', ..., '##a', ..., 'timer']",
                              fix="build them with WordPieceTokenizer.from_texts(training transcripts)")
        bad = [p for p in pieces if not isinstance(p, str) or not p.removeprefix(CONTINUATION) or " " in p]
        if bad:
            raise ConfigError("word pieces must be non-empty strings without spaces", received=bad[:5],
                              expected="'word' or '##rest'", fix="split phrases into words before building pieces")
        repeated = sorted({p for p, n in Counter(pieces).items() if n > 1})
        if repeated:
            raise ConfigError("word pieces must be unique", received=repeated[:5], expected="each piece once",
                              fix="remove the repeated pieces")
        known = set(pieces)
        characters = sorted({c for p in pieces for c in p.removeprefix(CONTINUATION)})
        missing = [c for c in characters for piece in (c, CONTINUATION + c) if piece not in known]
        if missing:
            raise ConfigError("every character of the pieces must also be a piece, word-initial and '##'",
                              received=sorted(set(missing))[:10], expected="single-character pieces 'x' and '##x'",
                              fix="build the pieces with WordPieceTokenizer.from_texts")
        if not isinstance(normalize, bool):
            raise ConfigError("normalize must be a bool", received=repr(normalize), expected="True or False")
        self.pieces = list(pieces)
        self.normalize = normalize
        self._ids = {p: i + 1 for i, p in enumerate(self.pieces)}
        self._longest = max(len(p.removeprefix(CONTINUATION)) for p in self.pieces)
        self._symbols = [""] + [p[len(CONTINUATION):] if p.startswith(CONTINUATION) else " " + p for p in self.pieces]

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 2, characters: str = DEFAULT_CHARACTERS,
                   normalize: bool = True) -> "WordPieceTokenizer":
        """Pieces from transcripts: every character (both ways), then each word seen at least
        `min_count` times, most frequent first (ties alphabetical)."""
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ConfigError("min_count must be a positive int", received=repr(min_count), expected="e.g. 2")
        counts = Counter(word for text in texts for word in text.split())
        chars = sorted(set(characters))
        pieces = chars + [CONTINUATION + c for c in chars]
        known = set(pieces)
        words = sorted((w for w, n in counts.items() if n >= min_count and w not in known), key=lambda w: (-counts[w], w))
        return cls(pieces + words, normalize=normalize)

    @property
    def vocabulary(self) -> list[str]:
        """Token strings by id: [BLANK, *pieces]."""
        return [BLANK, *self.pieces]

    @property
    def vocabulary_size(self) -> int:
        return len(self.pieces) + 1

    @property
    def blank_id(self) -> int:
        return 0

    @property
    def symbols(self) -> list[str]:
        """The text each id writes (blank: nothing); see the class docstring."""
        return list(self._symbols)

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ConfigError("WordPieceTokenizer.encode takes a string", received=type(text).__name__,
                              expected="str", fix="decode bytes first, e.g. text.decode('utf-8')")
        if self.normalize:
            from zoo.text.normalize import normalize_text

            text = normalize_text(text)
        ids = []
        for word in text.split():
            ids.extend(self._encode_word(word, text))
        return ids

    def _encode_word(self, word: str, text: str) -> list[int]:
        ids, start = [], 0
        while start < len(word):
            prefix = "" if start == 0 else CONTINUATION
            for end in range(min(len(word), start + self._longest), start, -1):
                piece_id = self._ids.get(prefix + word[start:end])
                if piece_id is not None:
                    ids.append(piece_id)
                    start = end
                    break
            else:
                raise ConfigError(f"cannot encode character {word[start]!r} of {text[:60]!r}",
                                  received=word[start], expected="characters of the tokenizer's pieces",
                                  fix="normalise the text with zoo.text.normalize_text and write numbers and "
                                      "symbols in words")
        return ids

    def decode(self, ids) -> str:
        """Ids -> text; blanks (0) are dropped."""
        return "".join(self._symbols[i] for i in checked_ids(ids, self.vocabulary_size, "pieces")).strip()

    def get_config(self) -> dict:
        return {"pieces": list(self.pieces), "normalize": self.normalize}

    @classmethod
    def from_config(cls, config: dict) -> "WordPieceTokenizer":
        return cls(**checked_config(cls.__name__, config, ("pieces", "normalize")))

    def __repr__(self) -> str:
        return f"WordPieceTokenizer({len(self.pieces)} pieces, normalize={self.normalize})"
