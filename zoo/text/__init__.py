"""Text for speech models: normalisation, character and phoneme tokenizers, the command grammar."""

from zoo.text.char_tokenizer import CharTokenizer
from zoo.text.normalize import normalize_text
from zoo.text.phoneme_tokenizer import PhonemeTokenizer
from zoo.text.sentence_grammar import SentenceGrammar

__all__ = ["CharTokenizer", "PhonemeTokenizer", "SentenceGrammar", "normalize_text"]
