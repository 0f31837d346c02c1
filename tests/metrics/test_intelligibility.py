"""PocketSphinx intelligibility metric and the TTS evaluation (tiny corpus, reference audio as the synthesizer)."""

import shutil

import jiwer
import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed (pip install pocketsphinx==5.1.1)")

from zoo.errors import ConfigError  # noqa: E402
from zoo.metrics.intelligibility import PocketSphinxRecognizer, wer_report  # noqa: E402

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (apt-get install flite)")


def _grammar_texts(n=300, seed=0):
    from zoo.text.sentence_grammar import SentenceGrammar

    grammar = SentenceGrammar(free_text_share=0.4)
    rng = np.random.default_rng(seed)
    return [grammar.sample(rng) for _ in range(n)], grammar.vocabulary()


@pytest.fixture(scope="module")
def recognizer():
    texts, vocabulary = _grammar_texts()
    return PocketSphinxRecognizer(texts, vocabulary=vocabulary)


@needs_flite
def test_transcribes_a_flite_slt_command(recognizer):
    from training.corpora.voices import FliteVoice

    command = "turn on the kitchen light"
    x, sr = FliteVoice("slt").synthesize(command)
    hyp = recognizer.transcribe(x, sr)
    assert wer_report([command], [hyp])["wer"] <= 0.2, hyp
    # Another rate is resampled to the model's 16 kHz first.
    from zoo.audio import resample

    assert recognizer.transcribe(resample(x, sr, 22050), 22050) == hyp


@needs_flite
def test_transcript_depends_only_on_the_waveform(recognizer):
    from training.corpora.voices import FliteVoice

    voice = FliteVoice("slt")
    a, sr = voice.synthesize("grass game children wood")
    b, _ = voice.synthesize("set a timer for forty two minutes")
    first = recognizer.transcribe(a, sr)
    recognizer.transcribe(b, sr)
    assert recognizer.transcribe(a, sr) == first  # no cepstral-mean state carried over
    texts, vocabulary = _grammar_texts()
    assert PocketSphinxRecognizer(texts, vocabulary=vocabulary).transcribe(a, sr) == first


def test_closed_language_model_has_only_training_and_vocabulary_words():
    rec = PocketSphinxRecognizer(["Turn ON the light", "turn off the fan"], vocabulary=["lamp", "xyzzy"])
    arpa = rec.arpa(pronounceable=lambda w: w != "xyzzy")
    unigrams = arpa.split("\\1-grams:")[1].split("\\2-grams:")[0].split()
    words = {w for w in unigrams if not w.lstrip("-").replace(".", "").isdigit()}
    assert words == {"<s>", "</s>", "turn", "on", "off", "the", "light", "fan", "lamp"}
    assert rec.skipped_words == ["xyzzy"]
    assert "ngram 3=" in arpa  # a trigram model
    assert "closed-vocabulary trigram" in rec.language_model
    assert "default" in PocketSphinxRecognizer().language_model


def test_wer_report_matches_jiwer():
    refs = ["turn on the light", "set a timer for ten minutes", "play some jazz"]
    hyps = ["Turn OF the light!", "set timer for ten minutes please", "play some jazz"]
    report = wer_report(refs, hyps)
    low = [h.lower().replace("!", "") for h in hyps]
    assert report["wer"] == pytest.approx(jiwer.wer(refs, low))
    assert report["cer"] == pytest.approx(jiwer.cer(refs, low))
    assert report["wer"] == pytest.approx(3 / 13)
    assert (report["substitutions"], report["deletions"], report["insertions"]) == (1, 1, 1)
    assert report["num_words"] == 13 and report["num_utterances"] == 3
    assert report["sentence_error_rate"] == pytest.approx(2 / 3)


def test_bad_inputs_raise_clear_errors(recognizer):
    with pytest.raises(ConfigError, match="references and hypotheses differ in length"):
        wer_report(["a b"], ["a", "b"])
    with pytest.raises(ConfigError, match="lists of strings"):
        wer_report("a b", "a b")
    with pytest.raises(ConfigError, match="discount_mass"):
        PocketSphinxRecognizer(["a b"], discount_mass=1.5)
    with pytest.raises(ConfigError, match="no words"):
        PocketSphinxRecognizer(["!!", ""])
    from zoo.errors import AudioError

    with pytest.raises(AudioError, match="mono waveform"):
        recognizer.transcribe(np.zeros((2, 100), np.float32))


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (apt-get install flite)")
    from training.corpora.tts_single_voice import make_tts_single_voice
    from training.manifest import read_manifest

    manifest = make_tts_single_voice(tmp_path_factory.mktemp("data"), scale="tiny", progress=False)
    return read_manifest(manifest, required=("path", "text", "split")), manifest.parent


def test_evaluate_tts_on_the_reference_audio(tiny_corpus):
    from training.synthesis_eval import ReferenceVoice, evaluate_tts, format_markdown

    rows, root = tiny_corpus
    result = evaluate_tts(ReferenceVoice(rows, root), rows, root, num_sentences=3, recognizers=("pocketsphinx",),
                          progress=False)
    assert result["num_sentences"] == 3
    ps = result["pocketsphinx"]
    assert ps["wer_ratio"] == 1.0 and ps["cer_ratio"] == 1.0
    assert ps["reference"]["wer"] == ps["synthesized"]["wer"]
    assert result["mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert result["mr_stft"]["total"] == pytest.approx(0.0, abs=1e-4)
    assert 0 < result["real_time_factor"] < 1  # reading a WAV is far faster than real time
    gate = result["gate"]
    assert gate["ratio"] == 1.0 and not gate["enough_sentences"] and not gate["passed"]
    assert [u["text"] for u in result["utterances"]] == [r["text"] for r in rows if r["split"] == "test"]
    table = format_markdown(result)
    assert "| pocketsphinx WER |" in table and "too few sentences" in table


def test_evaluate_tts_resamples_and_checks_the_synthesizer(tiny_corpus):
    from training.synthesis_eval import ReferenceVoice, evaluate_tts
    from zoo.audio import resample

    rows, root = tiny_corpus
    reference = ReferenceVoice(rows, root)

    def at_22k(text):
        x, sr = reference(text)
        return resample(x, sr, 22050), 22050

    result = evaluate_tts(at_22k, rows, root, num_sentences=2, recognizers=(), progress=False)
    assert result["num_sentences"] == 2 and "gate" not in result
    assert result["mcd_db"] < 0.5  # the same audio after two resamplings
    with pytest.raises(ConfigError, match=r"\(waveform, sample_rate\)"):
        evaluate_tts(lambda text: np.zeros(100), rows, root, num_sentences=1, recognizers=(), progress=False)
    with pytest.raises(ConfigError, match="unknown recognizer"):
        evaluate_tts(reference, rows, root, recognizers=("whisper",), progress=False)
