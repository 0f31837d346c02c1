"""Phoneme tokenizer: text -> espeak-ng IPA phonemes (through libespeak-ng) -> ids.

Ids: 0 is the CTC blank, 1 the word boundary, then the fixed phoneme inventory. Stress marks
are dropped; length marks stay part of their phoneme ("iː"). The phonemes come from
espeak-ng's dictionary for `language`, so they are deterministic for one espeak-ng version
(the version is in get_config()'s "espeak_version" only for the record; it is not checked).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from zoo.errors import ConfigError, DataError

BLANK = "<blank>"
# espeak-ng en-us IPA output over ~20k English words (stress marks removed), most frequent first.
ENGLISH_PHONEMES = (
    "s", "n", "k", "ɪ", "t", "ɛ", "l", "ɹ", "d", "ə", "m", "p", "æ", "iː", "b", "f", "z", "eɪ", "ɑː", "ɚ", "uː",
    "oʊ", "ɡ", "v", "aɪ", "dʒ", "j", "i", "ʌ", "ɾ", "ᵻ", "ŋ", "əl", "ʃ", "ɑːɹ", "w", "ɐ", "h", "ɜː", "tʃ", "ɔː",
    "oːɹ", "θ", "aʊ", "ɔ", "iə", "ɔːɹ", "ɔɪ", "ʊ", "ɛɹ", "oː", "ʒ", "aɪə", "ɪɹ", "ʊɹ", "aɪɚ", "ð", "ʔ", "n̩",
    "x", "r", "ɬ", "ɑ̃", "u",
)
_STRESS = str.maketrans("", "", "ˈˌ")
_IPA_MODE = 0x02  # espeak_TextToPhonemes: IPA names; bits 8-23 hold the separator
_SEPARATOR = "_"


class _Espeak:
    """libespeak-ng for text -> phonemes (initialised like training.corpora.voices: synchronous, IPA events)."""

    _instance = None
    _lock = threading.Lock()

    def __init__(self):
        name = ctypes.util.find_library("espeak-ng")
        if name is None:
            raise DataError("libespeak-ng is not installed", received="no libespeak-ng found",
                            expected="the Debian package libespeak-ng1",
                            fix="install it: `sudo apt-get install libespeak-ng1 espeak-ng` (or `make deps`)")
        self.lib = ctypes.CDLL(name)
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_Info.restype = ctypes.c_char_p
        if self.lib.espeak_Initialize(2, 0, None, 0x0003) <= 0:
            raise DataError("libespeak-ng failed to initialize", received="espeak_Initialize failed",
                            expected="a sample rate", fix="reinstall espeak-ng-data: `sudo apt-get install espeak-ng`")
        self.version = self.lib.espeak_Info(None).decode()
        self.call_lock = threading.Lock()

    @classmethod
    def get(cls) -> "_Espeak":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def phonemes(self, language: str, text: str) -> list[list[str]]:
        """Words as lists of IPA phonemes (espeak-ng's word grouping)."""
        with self.call_lock:
            if self.lib.espeak_SetVoiceByName(language.encode("utf-8")) != 0:
                raise ConfigError(f"espeak-ng has no language {language!r}", received=language,
                                  expected="a name from `espeak-ng --voices`", fix="use e.g. language='en-us'")
            buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
            pointer = ctypes.c_char_p(ctypes.addressof(buffer))
            clauses = []
            while pointer.value:  # one clause per call; the library advances the pointer
                out = self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, _IPA_MODE | (ord(_SEPARATOR) << 8))
                clauses.append(out.decode("utf-8") if out else "")
        words = []
        for word in " ".join(clauses).translate(_STRESS).split():
            phones = [p for p in word.split(_SEPARATOR) if p]
            if phones:
                words.append(phones)
        return words


class PhonemeTokenizer:
    """Text -> IPA phonemes -> ids: 0 blank, 1 `word_boundary`, then `inventory` in order."""

    def __init__(self, language: str = "en-us", word_boundary: str = "|", inventory=ENGLISH_PHONEMES):
        if not isinstance(language, str) or not language:
            raise ConfigError("language must be an espeak-ng voice name", received=repr(language),
                              expected="e.g. 'en-us'", fix="pass language='en-us'")
        inventory = list(inventory) if isinstance(inventory, (list, tuple)) else None
        if not inventory or not all(isinstance(p, str) and p and " " not in p for p in inventory) \
                or len(set(inventory)) != len(inventory):
            raise ConfigError("inventory must be a list of unique phoneme strings", received=repr(inventory)[:80],
                              expected="e.g. zoo.text.phoneme_tokenizer.ENGLISH_PHONEMES",
                              fix="pass the default inventory or a list without repeats")
        if not isinstance(word_boundary, str) or not word_boundary or word_boundary in inventory:
            raise ConfigError("word_boundary must be a symbol outside the inventory", received=repr(word_boundary),
                              expected="e.g. '|'", fix="pass word_boundary='|'")
        self.language = language
        self.word_boundary = word_boundary
        self.inventory = inventory
        self._ids = {p: i + 2 for i, p in enumerate(inventory)}
        self._ids[word_boundary] = 1

    @property
    def vocabulary(self) -> list[str]:
        return [BLANK, self.word_boundary, *self.inventory]

    @property
    def vocabulary_size(self) -> int:
        return len(self.inventory) + 2

    @property
    def blank_id(self) -> int:
        return 0

    def text_to_phonemes(self, text: str) -> list[str]:
        """Normalised text -> phonemes with `word_boundary` between words (deterministic)."""
        from zoo.text.normalize import normalize_text

        text = normalize_text(text)
        if not text:
            return []
        out = []
        for i, word in enumerate(_Espeak.get().phonemes(self.language, text)):
            if i:
                out.append(self.word_boundary)
            out.extend(word)
        return out

    def encode_phonemes(self, phonemes) -> list[int]:
        unknown = sorted({p for p in phonemes if p not in self._ids})
        if unknown:
            raise ConfigError(f"phonemes outside the inventory: {unknown}", received=unknown,
                              expected=f"phonemes of the {len(self.inventory)}-phoneme inventory or "
                                       f"{self.word_boundary!r}",
                              fix="add them to `inventory` (and retrain), or check the language")
        return [self._ids[p] for p in phonemes]

    def encode(self, text: str) -> list[int]:
        return self.encode_phonemes(self.text_to_phonemes(text))

    def decode(self, ids) -> list[str]:
        """Ids -> phonemes (blanks dropped; repeats kept for the CTC decoder to collapse)."""
        values = np.asarray(ids).reshape(-1)
        if values.size and (not np.issubdtype(values.dtype, np.integer) or values.min() < 0
                            or values.max() >= self.vocabulary_size):
            raise ConfigError("token ids out of range", received=values.tolist()[:10],
                              expected=f"ints in [0, {self.vocabulary_size - 1}]",
                              fix="decode ids produced by this tokenizer (same inventory)")
        vocabulary = self.vocabulary
        return [vocabulary[i] for i in values.tolist() if i != 0]

    def get_config(self) -> dict:
        return {"language": self.language, "word_boundary": self.word_boundary, "inventory": list(self.inventory)}

    @classmethod
    def from_config(cls, config: dict) -> "PhonemeTokenizer":
        if not isinstance(config, dict) or set(config) - {"language", "word_boundary", "inventory"}:
            raise ConfigError("invalid PhonemeTokenizer config", received=repr(config)[:80],
                              expected="the dict of get_config() (language, word_boundary, inventory)",
                              fix="pass tokenizer.get_config()")
        return cls(**config)
