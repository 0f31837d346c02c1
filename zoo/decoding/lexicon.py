"""A closed-vocabulary constraint for the beam searches: every word of a hypothesis is in a word list.

Lexicon-constrained decoding is how closed-vocabulary recognisers (commands, digits, a known word
list) keep a beam from spelling words that do not exist ("remeber", "lool"): an extension survives
only if the word it is spelling is still a prefix of a listed word, a word boundary only if the word
it closes is listed, and a finished hypothesis only if its last word is complete. The check works on
the text of the ids (one symbol per id), so character vocabularies (" " is the boundary) and word
pieces (" word" starts a word, "rest" continues it) fit alike. A word is what text.split() gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zoo.errors import ConfigError


class Lexicon:
    """Words allowed in a hypothesis, checked as a beam search extends it (ids -> text by `symbols`).

    Args:
        words: the allowed words (whitespace-free strings, as the model writes them: lower case for
            this zoo's tokenizers).
        symbols: the text of each token id ("" for blank/padding ids), e.g. SpeechRecognizer's
            per-id symbols.
    """

    def __init__(self, words: Iterable[str], symbols: Sequence[str]):
        words = list(words)
        bad = [w for w in words if not isinstance(w, str) or not w or len(w.split()) != 1 or w != w.strip()]
        if not words or bad:
            raise ConfigError("Lexicon: words must be a non-empty list of single words without whitespace",
                              received=bad[:5] if bad else "no words",
                              expected="e.g. ['open', 'the', 'window']",
                              fix="one word per line in the lexicon file; split phrases into words")
        self.words = frozenset(words)
        self._prefixes = {w[:i] for w in self.words for i in range(len(w) + 1)}
        self._symbols = list(symbols)
        self._step: dict[tuple[str, int], str | None] = {}  # (partial word, id) -> new partial word or None

    def __len__(self) -> int:
        return len(self.words)

    def _partial(self, ids: Sequence[int]) -> str:
        """The text of `ids` after its last space: the word being spelled ("" right after a boundary)."""
        tail = []
        for i in reversed(ids):
            symbol = self._symbols[i]
            if " " in symbol:
                tail.append(symbol.rsplit(" ", 1)[1])
                break
            tail.append(symbol)
        return "".join(reversed(tail))

    def _extend(self, partial: str, token: int) -> str | None:
        key = (partial, token)
        if key not in self._step:
            pieces = (partial + self._symbols[token]).split(" ")
            closed_ok = all(p in self.words for p in pieces[:-1] if p)
            self._step[key] = pieces[-1] if closed_ok and pieces[-1] in self._prefixes else None
        return self._step[key]

    def allows(self, ids: Sequence[int], token: int) -> bool:
        """Whether appending `token` to `ids` keeps every word listed or on its way to a listed word."""
        return self._extend(self._partial(ids), int(token)) is not None

    def complete(self, ids: Sequence[int]) -> bool:
        """Whether a hypothesis may end here: its last word is listed (or it ends at a boundary)."""
        partial = self._partial(ids)
        return not partial or partial in self.words

    def prefer_complete(self, hypotheses: list, ids_of=lambda h: h.token_ids) -> list:
        """The hypotheses whose last word is complete, in their order; all of them if none is (a beam
        that lost every complete hypothesis still returns its best guess rather than nothing)."""
        done = [h for h in hypotheses if self.complete(ids_of(h))]
        return done or hypotheses


def read_lexicon_words(path) -> list[str]:
    """Words of a lexicon file as written: one word per line (blank lines and lines starting with # skipped)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"lexicon file not found: {path}", expected="a text file, one word per line",
                          fix="pass --lexicon train to use the words of the training transcripts")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]  # SpeechRecognizer.lexicon normalises
