"""Lexicon: which extensions spell a listed word (characters and word pieces), when a hypothesis may
end, the fallback when none may, the lexicon file and bad word lists."""

import pytest

from zoo.decoding.lexicon import Lexicon, read_lexicon_words
from zoo.errors import ConfigError

CHARS = ["", " ", "a", "b", "o", "t"]  # ids 0..5: blank, space, letters
A, B, O, T, SPACE = 2, 3, 4, 5, 1


def test_characters_spell_only_listed_words():
    lex = Lexicon(["bat", "to", "a"], CHARS)
    assert lex.allows((), B) and lex.allows((B,), A) and lex.allows((B, A), T)
    assert not lex.allows((B,), B)  # "bb" starts no word
    assert not lex.allows((B, A), SPACE)  # "ba" is a prefix, not a word: no boundary after it
    assert lex.allows((B, A, T), SPACE) and lex.allows((B, A, T, SPACE), T)
    assert lex.allows((), SPACE) and lex.allows((SPACE,), SPACE)  # boundaries close no word
    assert lex.complete(()) and lex.complete((A,)) and lex.complete((T, O, SPACE))
    assert not lex.complete((T,)) and not lex.complete((B, A, T, SPACE, B))
    assert len(lex) == 3


def test_word_pieces_start_words_with_a_space():
    symbols = ["", " set", " the", "ti", "mer", " ti"]  # " word" starts a word, "rest" continues it
    lex = Lexicon(["set", "the", "timer"], symbols)
    assert lex.allows((), 1) and lex.allows((1,), 2)  # "set the"
    assert lex.allows((1,), 5) and lex.allows((1, 5), 4) and lex.complete((1, 5, 4))  # "set timer"
    assert not lex.complete((1, 5))  # "set ti": its last word is unfinished
    assert not lex.allows((1, 5), 3)  # "set titi"
    assert not lex.allows((5,), 2)  # " ti" closed as a word by " the": "ti" is not listed


def test_prefer_complete_keeps_order_and_falls_back():
    lex = Lexicon(["to"], CHARS)
    hyps = [(T,), (T, O), (T, O, SPACE, T)]  # best first
    assert lex.prefer_complete(hyps, ids_of=lambda h: h) == [(T, O)]
    assert lex.prefer_complete([(T,), (O,)], ids_of=lambda h: h) == [(T,), (O,)]  # none complete: all


def test_bad_word_lists_are_clear_errors(tmp_path):
    for words in ([], ["two words"], [""], [" padded"]):
        with pytest.raises(ConfigError, match="single words"):
            Lexicon(words, CHARS)
    path = tmp_path / "words.txt"
    path.write_text("# my words\nOpen\n\nthe\nwindow\n", encoding="utf-8")
    assert read_lexicon_words(path) == ["Open", "the", "window"]
    with pytest.raises(ConfigError, match="not found"):
        read_lexicon_words(tmp_path / "missing.txt")
