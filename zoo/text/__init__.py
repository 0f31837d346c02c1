"""Text for speech models: normalisation, character, phoneme and word-piece tokenizers, the command grammar."""

from zoo.text.char_tokenizer import CharTokenizer
from zoo.text.normalize import normalize_text
from zoo.text.phoneme_tokenizer import PhonemeTokenizer
from zoo.text.sentence_grammar import SentenceGrammar
from zoo.text.word_piece_tokenizer import WordPieceTokenizer

__all__ = ["CharTokenizer", "PhonemeTokenizer", "SentenceGrammar", "WordPieceTokenizer", "normalize_text"]
