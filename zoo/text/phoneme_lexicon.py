"""PhonemeLexicon: text string[B] -> phoneme ids i32[B, L] inside the graph (a pronunciation dictionary).

espeak-ng is a C library and cannot run inside a SavedModel, so the synthesize endpoint looks
words up in a lexicon instead (as CMUdict-based TTS frontends do): every word of the sentence
grammar, the letters a-z and the digits 0-9, each phonemized once by espeak-ng in isolation
(`build_entries`, stored in the layer's config, so a saved model needs no espeak-ng). A word
missing from the lexicon is spelled letter by letter (each letter a word of its own); characters
without an entry are dropped. Normalisation is zoo.text.normalize_text's for ASCII text (lowercase,
letters, digits, apostrophes; other characters split words; accented letters are not folded, so
write "cafe", not "café"). Text with no letter or digit is refused (InvalidArgument in the graph).

Token layout (the tts-slt-synth corpus's): the word boundary (id 1) between words and at both
ends; the phonemes are PhonemeTokenizer ids (0 = padding). `phonemes(text)` is the same lookup in
Python, so training inputs equal what the endpoint computes.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.text.phoneme_tokenizer import ENGLISH_PHONEMES, PhonemeTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# What a word may contain after normalisation (the rest of a word is spelled).
_NOT_WORD = "[^a-z0-9' ]+"
_EDGE_QUOTES = "(^|\\s)'+|'+(\\s|$)"


DEFAULT_ENTRIES_FILE = "lexicon_en_us.json"  # build_entries() of this espeak-ng, committed (tests rebuild it)


def default_entries() -> dict:
    """The committed en-us lexicon (the grammar's words, letters and digits; see build_entries)."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / DEFAULT_ENTRIES_FILE).read_text(encoding="utf-8"))


def build_entries(words=None, language: str = "en-us") -> dict:
    """{word: "ph ph ..."} from espeak-ng for `words` (default: the sentence grammar's vocabulary),
    the letters and the digits (a digit is pronounced as its number word)."""
    from zoo.text.phoneme_tokenizer import _Espeak
    from zoo.text.sentence_grammar import SentenceGrammar

    words = SentenceGrammar().vocabulary() if words is None else list(words)
    espeak = _Espeak.get()
    entries = {}
    for word in sorted(set(words) | set(LETTERS)):
        groups = espeak.phonemes(language, word)
        entries[word] = " ".join(p for g in groups for p in g)
    for digit, word in zip(DIGITS, DIGIT_WORDS):
        entries[digit] = entries.get(word) or " ".join(p for g in espeak.phonemes(language, word) for p in g)
    return {w: p for w, p in entries.items() if p}


@keras.saving.register_keras_serializable(package="zoo")
class PhonemeLexicon(keras.layers.Layer):
    """text string[B] -> (token_ids i32[B, L], token_length i32[B]) by dictionary lookup (module doc).

    Args:
        entries: {word: space-separated phonemes} (see build_entries); single letters are used to
            spell unknown words.
        inventory, word_boundary: the PhonemeTokenizer's (ids 0 = pad, 1 = boundary, then inventory).
        max_tokens: longest accepted token sequence (longer text fails with InvalidArgument).
    """

    def __init__(self, entries, inventory=ENGLISH_PHONEMES, word_boundary="|", max_tokens=600, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not isinstance(entries, dict) or not entries or not all(
                isinstance(k, str) and k and isinstance(v, str) and v.strip() for k, v in entries.items()):
            raise ConfigError("PhonemeLexicon entries must be a non-empty {word: 'ph ph'} dict",
                              received=repr(entries)[:80], expected="e.g. build_entries()",
                              fix="pass zoo.text.phoneme_lexicon.build_entries()")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 3:
            raise ConfigError("PhonemeLexicon max_tokens must be an int >= 3", received=repr(max_tokens))
        self.tokenizer = PhonemeTokenizer(word_boundary=word_boundary, inventory=inventory)
        self.entries = {k: " ".join(v.split()) for k, v in sorted(entries.items())}
        self.inventory, self.word_boundary, self.max_tokens = list(inventory), word_boundary, max_tokens
        missing = sorted({p for v in self.entries.values() for p in v.split()} - set(self.inventory))
        if missing:
            raise ConfigError("lexicon phonemes outside the inventory", received=missing[:10],
                              expected="phonemes of the PhonemeTokenizer inventory", fix="rebuild the entries")
        missing_letters = sorted(set(LETTERS) - set(self.entries))
        if missing_letters:
            raise ConfigError("the lexicon must spell every letter a-z", received=missing_letters,
                              fix="build the entries with build_entries()")
        ids = {w: " ".join(str(i) for i in self.tokenizer.encode_phonemes(p.split())) for w, p in self.entries.items()}
        self._ids = ids
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(list(ids)), tf.constant(list(ids.values()))),
            default_value="")

    @property
    def table(self):
        """The word -> ids StaticHashTable (exporters must track it: it is a resource, not a variable)."""
        return self._table

    @property
    def vocabulary_size(self) -> int:
        return self.tokenizer.vocabulary_size

    # -- Python side (training inputs, tests) --------------------------------------------------
    def words(self, text: str) -> list[str]:
        import re

        text = text.lower() if isinstance(text, str) else text
        if not isinstance(text, str):
            raise ConfigError("text must be a string", received=type(text).__name__, expected="str")
        text = re.sub(_EDGE_QUOTES, " ", re.sub(_NOT_WORD, " ", text))
        return text.split()

    def phonemes(self, text: str) -> list[str]:
        """The token strings the graph produces for `text` (boundaries included)."""
        out = [self.word_boundary]
        for word in self.words(text):
            if word in self.entries:
                spoken = [self.entries[word]]
            else:
                spoken = [self.entries[c] for c in word if c in self.entries]
            for pron in spoken:
                out += pron.split() + [self.word_boundary]
        return out

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode_phonemes(self.phonemes(text))

    # -- graph side ------------------------------------------------------------------------------
    def call(self, text):
        text = tf.strings.lower(tf.reshape(text, [-1]))
        text = tf.strings.regex_replace(tf.strings.regex_replace(text, _NOT_WORD, " "), _EDGE_QUOTES, " ")
        words = tf.strings.split(text)  # ragged [B, (W)]
        flat = words.flat_values
        pron = self._table.lookup(flat)
        letters = self._table.lookup(tf.strings.bytes_split(flat))  # ragged [W, (C)]
        letters = tf.ragged.boolean_mask(letters, tf.strings.length(letters) > 0)
        spelled = tf.strings.reduce_join(letters, axis=-1, separator=" 1 ")
        pron = tf.where(tf.strings.length(pron) > 0, pron, spelled)
        pron = words.with_flat_values(pron)
        pron = tf.ragged.boolean_mask(pron, tf.strings.length(pron) > 0)
        sentence = tf.strings.reduce_join(pron, axis=1, separator=" 1 ")
        sentence = tf.where(tf.strings.length(sentence) > 0, "1 " + sentence + " 1", "1")
        ids = tf.strings.to_number(tf.strings.split(sentence), tf.int32)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [tf.debugging.assert_less_equal(lengths, self.max_tokens,
                                                 message=f"text too long: more than {self.max_tokens} phonemes; "
                                                         "split it"),
                  tf.debugging.assert_greater(lengths, 1, message="text has no speakable words: send letters "
                                                                   "a-z or digits")]
        with tf.control_dependencies(checks):
            return ids.to_tensor(0), tf.identity(lengths)

    def compute_output_spec(self, text):
        return keras.KerasTensor((text.shape[0], None), dtype="int32"), keras.KerasTensor((text.shape[0],), "int32")

    def get_config(self):
        return {**super().get_config(), "entries": dict(self.entries), "inventory": list(self.inventory),
                "word_boundary": self.word_boundary, "max_tokens": self.max_tokens}
