"""speech-sentences-synth: timings from the synthesizers, sentence shaping, split by voice, determinism."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import speech_commands_synth as scs
from training.corpora import speech_sentences_synth as sss
from training.corpora import voices
from training.corpora.registry import CORPORA
from training.manifest import read_manifest
from zoo.errors import ConfigError, DataError
from zoo.text import CharTokenizer, normalize_text


def _engine_or_skip(engine):
    try:
        voices.check_engine(engine)
    except DataError as e:
        pytest.skip(f"{engine} not installed: {e}")


def _tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _energy_onsets(x, sr, frame=0.005, threshold_db=-30.0):
    """Starts (s) of the stretches whose 5 ms RMS is within threshold_db of the loudest frame."""
    n = int(frame * sr)
    rms = np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n).astype(np.float64) ** 2, axis=1))
    loud = rms > rms.max() * 10 ** (threshold_db / 20)
    starts = np.flatnonzero(loud & ~np.concatenate([[False], loud[:-1]]))
    return starts * frame


def _check_timings(rows_of_times, duration, text=None):
    """Monotone, inside the clip, and (words) spelling the text: espeak-ng may say two words as one entry."""
    previous_end = 0.0
    for i, (name, start, end) in enumerate(rows_of_times):
        assert 0.0 <= start <= end <= duration + 1e-9
        assert start >= previous_end - 1e-4, f"item {i} ({name}) starts before the previous one ends"
        previous_end = end
    if text is not None:
        assert " ".join(name for name, _, _ in rows_of_times) == text


# --- timings from the synthesizers -------------------------------------------------------------

@pytest.mark.tts
def test_espeak_word_onsets_match_energy_onsets():
    _engine_or_skip("espeak-ng")
    # Vowel-initial words after pauses: each word's onset is an energy onset.
    for voice_id, text in (("espeak-ng:en-us+m3", "apple, orange, ice, eagle"),
                           ("espeak-ng:en+f2", "open, every, under, all")):
        x, sr, words, phonemes = voices.make_voice(voice_id).synthesize_timed(text)
        assert [w for w, _, _ in words] == text.split()  # one entry per word (commas stay on the tokens)
        _check_timings(words, len(x) / sr)
        _check_timings(phonemes, len(x) / sr)
        onsets = _energy_onsets(x, sr)
        for word, start, _ in words:
            assert np.min(np.abs(onsets - start)) <= 0.05, (voice_id, word, start, onsets)
        # Every phoneme lies inside its word.
        for word, start, end in words:
            inside = [p for p in phonemes if start - 1e-9 <= p[1] and p[2] <= end + 1e-9]
            assert inside, word


@pytest.mark.tts
@pytest.mark.parametrize("voice_id", ["flite:slt", "flite:rms", "festival:kal_diphone"])
def test_flite_and_festival_word_timings(voice_id):
    _engine_or_skip(voice_id.split(":")[0])
    text = "open all windows at eleven"  # vowel first: the first phone's start is an energy onset
    x, sr, words, phonemes = voices.make_voice(voice_id).synthesize_timed(text, rate=1.1, pitch=1.15)
    duration = len(x) / sr
    _check_timings(words, duration, text)
    assert [w for w, _, _ in words] == text.split()
    if voice_id.startswith("flite"):
        _check_timings(phonemes, duration)
        assert phonemes[0][0] == "oʊ" and {p for p, _, _ in phonemes} <= set(voices.FliteVoice.IPA.values())
    else:
        assert phonemes is None
    onsets = _energy_onsets(x, sr)
    assert abs(onsets[0] - words[0][1]) <= 0.06  # the first word starts the speech
    assert words[-1][2] <= duration and words[-1][2] > 0.7 * duration - 0.3


# --- shaping ---------------------------------------------------------------------------------

def _spec(**kw):
    spec = {"voice": "test:voice", "text": "a b", "peak_db": -6.0, "lead": 0.2, "tail": 0.1}
    spec.update(kw)
    return spec


def test_shape_sentence_pads_normalises_and_moves_timings():
    sr = 16000
    x = np.zeros(sr, np.float32)
    x[4000:12000] = 0.3 * np.sin(np.arange(8000) * 0.2)  # speech from 0.25 s to 0.75 s
    words = [("a", 0.25, 0.5), ("b", 0.5, 0.75)]
    clip, moved, phon = sss.shape_sentence(x, words, None, _spec())
    assert len(clip) / sr == pytest.approx(sss.MIN_SECONDS, abs=2 / sr)  # short speech: padded to 1.5 s
    assert 20 * np.log10(np.max(np.abs(clip))) == pytest.approx(-6.0, abs=0.01)
    assert phon is None
    onset = np.flatnonzero(np.abs(clip) > 1e-4)[0] / sr
    assert moved[0][1] == pytest.approx(onset, abs=0.002)
    assert moved[1][1] - moved[0][1] == pytest.approx(0.25, abs=1e-4)
    # Timings outside the trimmed speech widen the trim instead of being cut.
    clip2, moved2, _ = sss.shape_sentence(x, [("a", 0.05, 0.5), ("b", 0.5, 0.95)], None, _spec(lead=0.1, tail=0.1))
    assert 0.0 <= moved2[0][1] and moved2[-1][2] <= len(clip2) / sr
    # Long speech keeps at least PAD_MIN of silence at each end.
    long = np.full(int(4.2 * sr), 0.1, np.float32)
    clip3, _, _ = sss.shape_sentence(long, None, None, _spec(lead=0.3, tail=0.3))
    assert len(clip3) / sr == pytest.approx(4.2 + 2 * sss.PAD_MIN, abs=0.02)
    with pytest.raises(DataError, match="silence"):
        sss.shape_sentence(np.zeros(sr, np.float32), None, None, _spec())


# --- the corpus --------------------------------------------------------------------------------

def _make(root, engines, workers=1):
    return sss.make_speech_sentences_synth(root, scale="tiny", engines=engines, progress=False, workers=workers)


def _check_corpus(manifest):
    rows = read_manifest(manifest, required=sss.SENTENCE_KEYS)
    tokenizer = CharTokenizer()
    speakers = {}
    for r in rows:
        speakers.setdefault(r["speaker"], set()).add(r["split"])
        assert normalize_text(r["text"]) == r["text"] and tokenizer.encode(r["text"])
        assert r["sample_rate"] == 16000 and r["seed"] == 0
        info = sf.info(str(manifest.parent / r["path"]))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 16000, 1)
        assert info.frames / 16000 == pytest.approx(r["duration"], abs=1e-9)
        assert sss.MIN_SECONDS - 1e-3 <= r["duration"] <= 5.0
        x, _ = sf.read(manifest.parent / r["path"], dtype="float64")
        assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(r["peak_db"], abs=0.05)
        assert scs.RATE_RANGE[0] <= r["rate"] <= scs.RATE_RANGE[1]
        if r["words"] is not None:
            _check_timings(r["words"], r["duration"], r["text"])
        if r["phonemes"] is not None:
            _check_timings(r["phonemes"], r["duration"])
        expected = "+".join(k for k in ("words", "phonemes") if r[k] is not None) or None
        assert r["timings"] == expected
    assert all(len(s) == 1 for s in speakers.values()), "a voice is in two splits"
    splits = json.loads((manifest.parent / "splits.json").read_text())
    assert {r["speaker"]: r["split"] for r in rows} == splits
    # The same voice pool and split as the keyword corpus.
    pool = scs.voice_pool(0, scs.SCALES["tiny"], sorted({r["engine"] for r in rows}),
                          voices.EspeakVoice.available_variants())
    assert all(pool[v] == s for v, s in splits.items())
    return rows


@pytest.mark.tts
def test_tiny_corpus_is_byte_identical_and_split_by_voice(tmp_path):
    for engine in ("espeak-ng", "flite"):
        _engine_or_skip(engine)
    a = _make(tmp_path / "a", ["espeak-ng", "flite"], workers=1)
    b = _make(tmp_path / "b", ["espeak-ng", "flite"], workers=2)
    assert _tree_digest(a.parent) == _tree_digest(b.parent)
    rows = _check_corpus(a)
    assert {r["split"] for r in rows} == {"train", "validation", "test"}
    espeak = [r for r in rows if r["engine"] == "espeak-ng"]
    assert espeak and all(r["timings"] == "words+phonemes" for r in espeak)
    assert all(w[0] in r["text"].split() or " " in w[0] for r in espeak for w in r["words"])
    assert any(r["timings"] is not None for r in rows if r["engine"] == "flite")
    # Cached: a second call returns at once without rewriting.
    mtime = a.stat().st_mtime_ns
    assert _make(tmp_path / "a", ["espeak-ng", "flite"]) == a and a.stat().st_mtime_ns == mtime


@pytest.mark.tts
def test_tiny_corpus_festival_words_and_piper_without_timings(tmp_path):
    for engine in ("festival", "piper"):
        _engine_or_skip(engine)
    rows = _check_corpus(_make(tmp_path, ["festival", "piper"], workers=2))
    festival = [r for r in rows if r["engine"] == "festival"]
    piper = [r for r in rows if r["engine"] == "piper"]
    assert festival and all(r["timings"] == "words" and r["phonemes"] is None for r in festival)
    assert piper and all(r["timings"] is None and r["words"] is None for r in piper)
    assert {r["split"] for r in festival + piper} == {"train"}


def test_config_errors_and_registry(tmp_path):
    with pytest.raises(ConfigError, match="scale"):
        sss.make_speech_sentences_synth(tmp_path, scale="huge")
    with pytest.raises(ConfigError, match="seed"):
        sss.make_speech_sentences_synth(tmp_path, seed=-1)
    with pytest.raises(ConfigError, match="engines"):
        sss.make_speech_sentences_synth(tmp_path, engines=["sam"])
    with pytest.raises(ConfigError, match="workers"):
        sss.make_speech_sentences_synth(tmp_path, workers=0)
    assert CORPORA["speech-sentences-synth"][0] == \
        "training.corpora.speech_sentences_synth:make_speech_sentences_synth"


def test_task_plan_is_deterministic_and_complete():
    splits = {"espeak-ng:en+m1": "train", "espeak-ng:en-029+f2": "test", "flite:slt": "validation",
              "piper:joe": "train"}
    a = sss._tasks(3, sss.SCALES["tiny"], splits)
    assert a == sss._tasks(3, sss.SCALES["tiny"], splits)
    specs = [s for t in a for s in t["specs"]]
    assert sorted((s["voice"], s["take"]) for s in specs) == sorted(
        [("espeak-ng:en+m1", 0), ("espeak-ng:en-029+f2", 0), ("flite:slt", 0), ("piper:joe", 0), ("piper:joe", 1)])
    assert all(s["split"] == splits[s["voice"]] for s in specs)
    assert sss._tasks(4, sss.SCALES["tiny"], splits) != a  # another seed, other sentences


def test_align_words_merges_engine_tokens():
    items = [("what", 0.2, 0.4), ("'s", 0.1, 0.1), ("the", 0.4, 0.5), ("date", 0.5, 0.7)]
    assert voices.align_words("what's the date", items) == [("what's", 0.2, 0.4), ("the", 0.4, 0.5),
                                                             ("date", 0.5, 0.7)]
    assert voices.align_words("what's the date today", items) is None
    assert voices.align_words("the date", items) is None


def test_espeak_timings_from_events():
    # Events in libespeak-ng's order for "call on the mom": a WORD event can follow the previous
    # word's last phoneme at the same sample, and "on the" shares one WORD event.
    events = [("word", 0, 1, 4), ("phoneme", 100, "k"), ("phoneme", 300, "ɔː"), ("phoneme", 500, "l"),
              ("word", 500, 6, 2), ("phoneme", 700, "ɑː"), ("phoneme", 800, "n"), ("phoneme", 900, "ð"),
              ("phoneme", 1000, "ə"), ("word", 1100, 13, 3), ("phoneme", 1100, ""), ("phoneme", 1300, "m"),
              ("phoneme", 1500, "ɑː"), ("phoneme", 1700, "m"), ("phoneme", 1900, "")]
    words, phonemes = voices.espeak_timings("call on the mom", events, 2000, 1000)
    assert words == [("call", 0.1, 0.7), ("on the", 0.7, 1.1), ("mom", 1.3, 1.9)]
    assert phonemes[:3] == [("k", 0.1, 0.3), ("ɔː", 0.3, 0.5), ("l", 0.5, 0.7)]
    assert phonemes[-1] == ("m", 1.7, 1.9)


def test_free_text_scale_adds_train_free_text_and_keeps_every_other_sentence():
    from zoo.text import SentenceGrammar

    splits = {"espeak-ng:en+m1": "train", "espeak-ng:en-029+f2": "test", "flite:slt": "validation"}
    plain_tasks = sss._tasks(3, sss.SCALES["tiny"], splits)
    free_tasks = sss._tasks(3, sss.SCALES["tiny_free"], splits)
    # The regular work units are the same units (index, content): the synthesizers run through the
    # same states, so their clips are byte-identical; the free text comes in units of its own.
    assert all(t in free_tasks for t in plain_tasks)
    added = [s for t in free_tasks if t not in plain_tasks for s in t["specs"]]
    key = lambda s: (s["voice"], s["take"])  # noqa: E731
    assert sorted(key(s) for s in added) == [("espeak-ng:en+m1", 1), ("espeak-ng:en+m1", 2)]
    grammar = SentenceGrammar()
    assert all(s["split"] == "train" and grammar.is_free_text(s["text"]) for s in added)
    assert added[0]["text"] != added[1]["text"]
