"""zoo.text: normalisation, character and phoneme tokenizers, the sentence grammar."""

import json

import numpy as np
import pytest

from zoo.errors import ConfigError, DataError
from zoo.text import CharTokenizer, PhonemeTokenizer, SentenceGrammar, normalize_text
from zoo.text.sentence_grammar import COMMON_WORDS, number_words, ordinal_words


@pytest.mark.parametrize("raw, expected", [
    ("Turn ON the kitchen-light, please!", "turn on the kitchen light please"),
    ("  It\u2019s   'quoted'  Caf\u00e9 ", "it's quoted cafe"),
    ("don't\tstop\nnow...", "don't stop now"),
    ("Set 5 timers", "set 5 timers"),
    ("", ""),
])
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_char_tokenizer_vocabulary_and_round_trip():
    tok = CharTokenizer()
    assert tok.vocabulary[:4] == ["<blank>", " ", "'", "a"] and tok.vocabulary[-1] == "z"
    assert tok.vocabulary_size == 29 and tok.blank_id == 0
    assert tok.encode("it's a") == [11, 22, 2, 21, 1, 3]
    rng = np.random.default_rng(1)
    grammar = SentenceGrammar()
    for _ in range(200):
        text = grammar.sample(rng)
        ids = tok.encode(text)
        assert 0 not in ids and tok.decode(ids) == text
    # Blanks are dropped, repeats are kept (the CTC decoder collapses them).
    assert tok.decode([0, 3, 3, 0, 4]) == "aab"
    assert tok.decode(np.array([[3, 0], [4, 1]], np.int32)) == "ab "


def test_char_tokenizer_errors_say_which_and_how():
    tok = CharTokenizer()
    with pytest.raises(ConfigError) as e:
        tok.encode("set 5 timers!")
    assert "['!', '5']" in str(e.value) and "normalize_text" in str(e.value) and "numbers" in str(e.value)
    with pytest.raises(ConfigError, match="characters"):
        tok.encode("Hello")
    assert CharTokenizer(normalize=True).encode("Hello!") == tok.encode("hello")
    with pytest.raises(ConfigError, match="out of range"):
        tok.decode([3, 29])
    with pytest.raises(ConfigError, match="out of range"):
        tok.decode([-1])
    with pytest.raises(ConfigError, match="unique"):
        CharTokenizer("abca")
    with pytest.raises(ConfigError, match="non-empty"):
        CharTokenizer("")
    with pytest.raises(ConfigError, match="bool"):
        CharTokenizer(normalize="yes")


def test_char_tokenizer_config_round_trip():
    tok = CharTokenizer(" abc", normalize=True)
    config = json.loads(json.dumps(tok.get_config()))
    assert config == {"characters": " abc", "normalize": True}
    again = CharTokenizer.from_config(config)
    assert again.vocabulary == tok.vocabulary and again.encode("Cab a") == [4, 2, 3, 1, 2]
    with pytest.raises(ConfigError, match="unknown CharTokenizer config keys"):
        CharTokenizer.from_config({"characters": "ab", "lower": True})


def _espeak_or_skip():
    try:
        PhonemeTokenizer().text_to_phonemes("yes")
    except DataError as e:
        pytest.skip(f"libespeak-ng not installed: {e}")


def test_phoneme_tokenizer_deterministic_with_word_boundaries():
    _espeak_or_skip()
    tok = PhonemeTokenizer()
    assert tok.vocabulary[:2] == ["<blank>", "|"] and tok.vocabulary_size == len(tok.inventory) + 2
    phones = tok.text_to_phonemes("Hello, world!")
    assert phones == tok.text_to_phonemes("hello world")
    assert phones.count("|") == 1 and phones[-1] == "d" and "ˈ" not in "".join(phones)
    assert tok.text_to_phonemes("") == []
    ids = tok.encode("set a timer for twenty five minutes")
    assert 0 not in ids and ids.count(1) == 6
    assert tok.decode(ids) == tok.text_to_phonemes("set a timer for twenty five minutes")
    assert tok.decode([0, 1, 0]) == ["|"]


def test_phoneme_tokenizer_covers_the_grammar():
    _espeak_or_skip()
    tok = PhonemeTokenizer()
    words = SentenceGrammar().vocabulary()
    assert set(COMMON_WORDS) <= set(words)
    phones = tok.text_to_phonemes(" ".join(words))
    tok.encode_phonemes(phones)  # every phoneme is in the fixed inventory
    assert len(set(phones) - {"|"}) >= 35


def test_phoneme_tokenizer_errors_and_config():
    _espeak_or_skip()
    small = PhonemeTokenizer(inventory=["h", "ə", "l", "oʊ"])
    assert small.encode("hello") == [2, 3, 4, 5]
    with pytest.raises(ConfigError, match="outside the inventory") as e:
        small.encode("hello world")
    assert "w" in str(e.value) and "inventory" in e.value.fix
    with pytest.raises(ConfigError, match="word_boundary"):
        PhonemeTokenizer(word_boundary="l", inventory=["l"])
    with pytest.raises(ConfigError, match="unique"):
        PhonemeTokenizer(inventory=["a", "a"])
    with pytest.raises(ConfigError, match="out of range"):
        small.decode([6])
    again = PhonemeTokenizer.from_config(json.loads(json.dumps(small.get_config())))
    assert again.vocabulary == small.vocabulary
    with pytest.raises(ConfigError, match="no language"):
        PhonemeTokenizer(language="xx-nolang").text_to_phonemes("hello")


def test_grammar_is_deterministic_and_in_range():
    grammar = SentenceGrammar()
    a = [grammar.sample(np.random.default_rng([7, k])) for k in range(300)]
    b = [grammar.sample(np.random.default_rng([7, k])) for k in range(300)]
    assert a == b and len(set(a)) > 200
    assert all(normalize_text(s) == s and 1 <= len(s.split()) <= 10 for s in a)
    common = set(COMMON_WORDS)
    free = [s for s in a if all(w in common for w in s.split()) and 3 <= len(s.split()) <= 6]
    assert 0.12 <= len(free) / len(a) <= 0.3  # ~20 % free text (a few commands also use only common words)
    assert any("twenty" in s for s in a) and any(m in s for s in a for m in ("march", "june", "may"))
    assert SentenceGrammar.from_config(grammar.get_config()).get_config() == grammar.get_config()
    with pytest.raises(ConfigError, match="free_text_share"):
        SentenceGrammar(free_text_share=1.5)
    with pytest.raises(ConfigError, match="max_words"):
        SentenceGrammar(max_words=3)


def test_numbers_and_dates_in_words():
    assert [number_words(n) for n in (0, 7, 25, 40, 110, 999)] == [
        "zero", "seven", "twenty five", "forty", "one hundred ten", "nine hundred ninety nine"]
    assert [ordinal_words(n) for n in (1, 3, 12, 20, 21, 31)] == [
        "first", "third", "twelfth", "twentieth", "twenty first", "thirty first"]
    with pytest.raises(ConfigError):
        number_words(1000)
    with pytest.raises(ConfigError):
        ordinal_words(32)


def test_word_piece_tokenizer_whole_words_and_character_fallback():
    from zoo.text import WordPieceTokenizer

    tok = WordPieceTokenizer.from_texts(["set a timer", "set the timer", "the sky"], min_count=2)
    chars = 27  # apostrophe and a-z, word-initial then "##"
    assert tok.pieces[:2] == ["'", "a"] and tok.pieces[chars] == "##'"
    assert tok.pieces[2 * chars:] == ["set", "the", "timer"]  # seen twice, most frequent first; "sky" once
    assert tok.vocabulary_size == 2 * chars + 4 and tok.blank_id == 0 and tok.vocabulary[0] == "<blank>"
    ids = tok.encode("Set the SKY timer!")  # normalised, then whole words or the longest pieces
    assert [tok.vocabulary[i] for i in ids] == ["set", "the", "s", "##k", "##y", "timer"]
    assert tok.decode(ids) == "set the sky timer"
    assert tok.decode([0, *ids[:2], 0]) == "set the"  # blanks write nothing
    assert "".join(tok.symbols[i] for i in ids) == " set the sky timer"  # what the graph joins, then strips
    assert tok.encode("") == [] and tok.decode([]) == ""
    assert WordPieceTokenizer.from_config(json.loads(json.dumps(tok.get_config()))).pieces == tok.pieces


def test_word_piece_tokenizer_refusals():
    from zoo.text import WordPieceTokenizer

    tok = WordPieceTokenizer.from_texts(["a b"], min_count=1)
    with pytest.raises(ConfigError, match="cannot encode character '7'"):
        tok.encode("route 7")
    with pytest.raises(ConfigError, match="out of range"):
        tok.decode([tok.vocabulary_size])
    with pytest.raises(ConfigError, match="must also be a piece"):
        WordPieceTokenizer(["a", "##a", "ab"])  # "b" missing both ways
    with pytest.raises(ConfigError, match="unique"):
        WordPieceTokenizer(["a", "##a", "a"])
    with pytest.raises(ConfigError, match="without spaces"):
        WordPieceTokenizer(["a", "##a", "a a"])
    with pytest.raises(ConfigError, match="non-empty list"):
        WordPieceTokenizer("abc")
    with pytest.raises(ConfigError, match="min_count"):
        WordPieceTokenizer.from_texts(["a"], min_count=0)


def test_shipped_word_pieces_cover_the_grammar_and_every_character():
    from zoo.families.recognition.asr_protocol import WORD_PIECE_TOKENIZER
    from zoo.text import WordPieceTokenizer

    tok = WordPieceTokenizer.from_config(WORD_PIECE_TOKENIZER["config"])
    grammar_words = SentenceGrammar().vocabulary()
    whole = [w for w in grammar_words if len(tok.encode(w)) == 1]
    # Every grammar word but those too rare in the training transcripts (seen at most once) is one piece.
    assert len(whole) >= len(grammar_words) - 10
    for word in grammar_words:
        assert tok.decode(tok.encode(word)) == word


def test_free_text_is_told_from_commands():
    grammar = SentenceGrammar()
    assert grammar.is_free_text("near first once low learn night")
    assert not grammar.is_free_text("open the window")  # a command made of common words only
    assert not grammar.is_free_text("set a timer for twenty five minutes")  # "twenty", "minutes" are not common
    assert not grammar.is_free_text("")
    rng = np.random.default_rng(3)
    free_only, commands_only = SentenceGrammar(free_text_share=1.0), SentenceGrammar(free_text_share=0.0)
    assert all(grammar.is_free_text(free_only.sample(rng)) for _ in range(200))
    assert not any(grammar.is_free_text(commands_only.sample(rng)) for _ in range(2000))
    from zoo.text.sentence_grammar import COMMAND_SEEDS, COMMON_WORDS

    common = set(COMMON_WORDS)  # twice the seeds find no command of common words that the list lacks
    made = (template(np.random.default_rng(k)) for k in range(COMMAND_SEEDS, 2 * COMMAND_SEEDS)
            for _, template in grammar._templates)
    more = {text for text in made if all(w in common for w in text.split())}
    assert more <= grammar._common_commands and len(grammar._common_commands) == 18
