"""Intelligibility of speech as the word error rate of an independent recognizer: PocketSphinx.

`PocketSphinxRecognizer` transcribes 16 kHz mono float waveforms with pocketsphinx 5.1.1's
bundled US-English acoustic model (en-us, a continuous HMM) and CMUdict, and returns text
normalised by zoo.text.normalize.normalize_text.

Language model (the configuration a TTS evaluation uses, for reference and synthesized audio
alike): a closed-vocabulary back-off trigram built from the *training* split's sentences with
pocketsphinx's own ARPA builder (`pocketsphinx.lm.ArpaBoLM`, the CMU lmtool recipe: fixed
discount mass 0.5, sentence markers <s> </s>), plus the task's word list (e.g.
`SentenceGrammar.vocabulary()`) added as unigrams of count 1 so that a test word the training
sentences never used can still be recognised. Words CMUdict cannot pronounce are left out. The
test sentences never enter the model. Measured on the first 60 test sentences of
tts-slt-synth (flite slt, the reference voice itself): the default en-us LM (a generic US-English
trigram) gives WER 23.9%, so it measures the LM as much as the audio ("set a diner");
the training-sentence trigram alone 11.8% (5 of 348 test words never occur in training); with
the grammar's word list 10.1%. A JSGF grammar of the training sentences cannot produce an unseen
test sentence, and keyphrase spotting gives no transcript, so neither fits a WER test. With
`training_texts=None` the default LM is used (for open-domain speech).

Cepstral mean normalisation per clip: pocketsphinx carries its running cepstral mean from one
utterance to the next (even with `full_utt=True`), so a transcript would depend on what was
decoded before it (the same clip twice in a row can give two transcripts). Each waveform
therefore starts from the acoustic model's initial mean, one pass without search
(`no_search=True`) estimates the clip's own mean, and a second pass decodes the whole clip
(`full_utt=True`): a transcript depends only on its waveform.
`wer_report` scores transcripts with zoo.metrics.asr (jiwer).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence

import numpy as np

from zoo.errors import AudioError, ConfigError, DataError

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
DISCOUNT_MASS = 0.5  # lmtool's fixed back-off mass


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as exc:
        raise DataError("pocketsphinx is not installed", received=str(exc), expected="pocketsphinx 5.1.1",
                        fix="pip install pocketsphinx==5.1.1") from exc
    return pocketsphinx


def _clean_texts(texts, name: str) -> list[str]:
    from zoo.text.normalize import normalize_text

    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise ConfigError(f"{name} must be a list of sentences", received=type(texts).__name__,
                          expected="list[str]", fix=f"pass {name} as a list, e.g. [row['text'] for row in rows]")
    out = [normalize_text(t) for t in texts]
    return [t for t in out if t]


class PocketSphinxRecognizer:
    """PocketSphinx with a closed-vocabulary trigram of `training_texts` (see the module doc).

    Args:
        training_texts: sentences the language model is estimated from (the training split);
            None uses pocketsphinx's default en-us LM.
        vocabulary: extra words the LM may produce (unigrams of count 1), e.g. the task grammar's
            word list; ignored without training_texts.
        discount_mass: the back-off mass of the lmtool recipe (0 < m < 1).
    """

    def __init__(self, training_texts: Sequence[str] | None = None, *, vocabulary: Sequence[str] | None = None,
                 discount_mass: float = DISCOUNT_MASS):
        if isinstance(discount_mass, bool) or not isinstance(discount_mass, (int, float)) \
                or not 0.0 < discount_mass < 1.0:
            raise ConfigError("discount_mass must be in (0, 1)", received=repr(discount_mass), expected="0 < m < 1",
                              fix=f"use the lmtool value {DISCOUNT_MASS}")
        self.training_texts = None if training_texts is None else _clean_texts(training_texts, "training_texts")
        if self.training_texts is not None and not self.training_texts:
            raise ConfigError("training_texts has no words", received="0 non-empty sentences",
                              expected="the training split's sentences", fix="pass training_texts=None for the "
                              "default en-us language model")
        self.vocabulary = sorted(set(_clean_texts(vocabulary or [], "vocabulary")))
        self.discount_mass = float(discount_mass)
        self.skipped_words: list[str] = []  # LM words CMUdict cannot pronounce
        self._decoder = None
        self._initial_cmn = None

    def get_config(self) -> dict:
        return {"training_texts": self.training_texts, "vocabulary": self.vocabulary,
                "discount_mass": self.discount_mass}

    @property
    def language_model(self) -> str:
        """A one-line description of the language model in use."""
        if self.training_texts is None:
            return "pocketsphinx default en-us trigram LM"
        return (f"closed-vocabulary trigram (lmtool, discount {self.discount_mass}) of "
                f"{len(self.training_texts)} training sentences + {len(self.vocabulary)} vocabulary words")

    def arpa(self, pronounceable=None) -> str:
        """The ARPA text of the closed-vocabulary LM (words failing `pronounceable` dropped)."""
        import io

        from pocketsphinx.lm import ArpaBoLM

        if self.training_texts is None:
            raise ConfigError("the default language model has no ARPA text here", received="training_texts=None",
                              expected="training sentences", fix="pass training_texts to build a closed LM")
        keep = pronounceable or (lambda w: True)
        words = {w for t in self.training_texts for w in t.split()} | set(self.vocabulary)
        self.skipped_words = sorted(w for w in words if not keep(w))
        skip = set(self.skipped_words)
        lines = [" ".join(w for w in t.split() if w not in skip) for t in self.training_texts]
        model = ArpaBoLM(add_start=True, discount_mass=self.discount_mass)
        model.read_corpus(io.StringIO("\n".join(line for line in lines if line) + "\n"))
        for word in self.vocabulary:  # lmtool's word file: each listed word counted once more
            if word not in skip:
                model.grams_1[word] += 1
        model.compute()
        out = io.StringIO()
        model.write(out)
        return out.getvalue()

    def _build(self):
        ps = _pocketsphinx()
        ps_dir = ps.get_model_path()
        model_dir = os.path.join(ps_dir, "en-us")
        kwargs = dict(hmm=os.path.join(model_dir, "en-us"), dict=os.path.join(model_dir, "cmudict-en-us.dict"),
                      samprate=SAMPLE_RATE, loglevel="FATAL")
        if self.training_texts is None:
            return ps.Decoder(lm=os.path.join(model_dir, "en-us.lm.bin"), **kwargs)
        decoder = ps.Decoder(lm=None, **kwargs)
        text = self.arpa(pronounceable=lambda w: decoder.lookup_word(w) is not None)
        with tempfile.TemporaryDirectory(prefix="zoo-sphinx-") as tmp:  # the LM loads from a file
            path = os.path.join(tmp, "closed.lm")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            decoder.add_lm_file("closed", path)
        decoder.activate_search("closed")
        return decoder

    def transcribe(self, waveform, sample_rate: int = SAMPLE_RATE) -> str:
        """Normalised transcript of one mono float waveform in [-1, 1] (resampled to 16 kHz)."""
        from zoo.audio import resample
        from zoo.text.normalize import normalize_text

        x = np.asarray(waveform, dtype=np.float32)
        if x.ndim != 1 or x.size == 0:
            raise AudioError("PocketSphinxRecognizer expects one non-empty mono waveform",
                             received=f"shape {x.shape}", expected="[T] with T > 0",
                             fix="pass one channel, e.g. x.mean(axis=0)")
        if not np.all(np.isfinite(x)):
            raise AudioError("waveform contains NaN or Inf", received="non-finite samples",
                             expected="finite samples in [-1, 1]", fix="check the synthesizer output")
        if sample_rate != SAMPLE_RATE:
            x = resample(x, sample_rate, SAMPLE_RATE)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
        if self._decoder is None:
            self._decoder = self._build()
            self._initial_cmn = self._decoder.get_cmn(False)
        decoder = self._decoder
        decoder.set_cmn(self._initial_cmn)  # see the module doc: no state from earlier clips
        for search in (False, True):  # estimate this clip's cepstral mean, then decode
            decoder.start_utt()
            decoder.process_raw(pcm, no_search=not search, full_utt=True)
            decoder.end_utt()
        hyp = decoder.hyp()
        return normalize_text(hyp.hypstr) if hyp is not None else ""

    def transcribe_batch(self, waveforms, sample_rate: int = SAMPLE_RATE) -> list[str]:
        return [self.transcribe(w, sample_rate) for w in waveforms]


def wer_report(references: Sequence[str], hypotheses: Sequence[str]) -> dict:
    """Corpus scores of normalised transcripts: {"wer", "cer", "num_utterances", "num_words",
    "substitutions", "deletions", "insertions", "sentence_error_rate"} (jiwer's WER and CER)."""
    from zoo.metrics.asr import cer, wer, word_errors
    from zoo.text.normalize import normalize_text

    if isinstance(references, str) or isinstance(hypotheses, str):
        raise ConfigError("references and hypotheses must be lists of strings", received="str",
                          expected="list[str], one entry per utterance", fix="wrap a single text in a list")
    refs = [normalize_text(r) for r in references]
    hyps = [normalize_text(h) for h in hypotheses]
    per = word_errors(refs, hyps)
    return {"wer": wer(refs, hyps), "cer": cer(refs, hyps), "num_utterances": len(refs),
            "num_words": sum(u.reference_length for u in per),
            "substitutions": sum(u.substitutions for u in per), "deletions": sum(u.deletions for u in per),
            "insertions": sum(u.insertions for u in per),
            "sentence_error_rate": sum(u.errors > 0 for u in per) / len(per)}
