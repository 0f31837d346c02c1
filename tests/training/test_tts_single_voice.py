"""tts-slt-synth at scale "tiny": rows, durations, alignment, splits by sentence, determinism, registry."""

import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import registry
from training.corpora import tts_single_voice as tts
from training.manifest import read_manifest
from zoo.errors import ConfigError
from zoo.text import PhonemeTokenizer


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tts")
    manifest = registry.make_corpus("tts-slt-synth", root, seed=3, scale="tiny", progress=False)
    return manifest, read_manifest(manifest, required=tts.TTS_KEYS)


def test_rows_audio_and_durations(corpus):
    manifest, rows = corpus
    assert len(rows) == 30
    tokenizer = PhonemeTokenizer()
    for row in rows:
        x, sr = sf.read(manifest.parent / row["path"], dtype="float32")
        assert sr == tts.SAMPLE_RATE == row["sample_rate"] and row["hop_length"] == tts.HOP_LENGTH
        assert len(x) == row["num_frames"] * tts.HOP_LENGTH and row["duration"] == len(x) / sr
        assert 0.05 < np.abs(x).max() <= 1.0
        assert row["phonemes"] == ["|", *tokenizer.text_to_phonemes(row["text"]), "|"]
        tokenizer.encode_phonemes(row["phonemes"])  # every phoneme is in the model's inventory
        assert len(row["durations"]) == len(row["phonemes"])
        assert sum(row["durations"]) == row["num_frames"] and min(row["durations"]) >= 0
        assert row["durations"][0] > 0 and row["durations"][-1] > 0  # leading / trailing silence
        # A phoneme's frames cover the flite phone it took (whole sentence: start of first phone).
        first = row["flite_phones"][0][1]
        assert row["durations"][0] == round(first * sr / tts.HOP_LENGTH)


def test_durations_follow_the_audio(corpus):
    manifest, rows = corpus
    for row in rows[:8]:  # speech energy lies in the phoneme frames, not in the edge silences
        x, _ = sf.read(manifest.parent / row["path"], dtype="float32")
        frames = x.reshape(-1, tts.HOP_LENGTH)
        energy = np.sqrt(np.mean(frames ** 2, axis=1))
        lead, tail = row["durations"][0], row["durations"][-1]
        speech = energy[lead:row["num_frames"] - tail]
        assert energy[:max(1, lead - 2)].max() < 0.1 * speech.max()
        assert np.mean(speech > 0.05 * speech.max()) > 0.7


def test_alignment_mismatches_are_rare_and_counted(corpus):
    manifest, rows = corpus
    phonemes = sum(len(r["phonemes"]) - r["phonemes"].count("|") for r in rows)
    counts = {k: sum(r["alignment"][k] for r in rows) for k in ("substituted", "flite_only", "ipa_only")}
    assert sum(counts.values()) < 0.1 * phonemes, counts
    readme = (manifest.parent / "README.md").read_text()
    assert f"{phonemes} espeak-ng phonemes: {counts['substituted']} paired" in readme


def test_align_phones_closed_cases():
    taken, counts = tts.align_phones(["f", "ɔːɹ"], ["f", "ɔ", "ɹ"])
    assert taken == [[0], [1, 2]] and counts["composite"] == 1 and counts["substituted"] == 0
    taken, counts = tts.align_phones(["s", "ɪ", "s", "t", "ɚ", "ɹ"], ["s", "ɪ", "s", "t", "ɝ"])
    assert taken[:5] == [[0], [1], [2], [3], [4]] and taken[5] == [] and counts["ipa_only"] == 1
    taken, counts = tts.align_phones(["k", "æ", "t"], ["k", "æ", "t", "s"])
    assert taken == [[0], [1], [2, 3]] and counts["flite_only"] == 1
    spans = tts.phoneme_intervals(["a", "b", "c"], [("a", 0.0, 0.1), ("c", 0.1, 0.4)], [[0], [], [1]])
    assert spans == [[0.0, 0.05], [0.05, 0.1], [0.1, 0.4]]  # "b" shares "a"'s time


def test_boundaries_take_pauses():
    tokens = ["|", "a", "|", "b", "c", "|"]
    spans = [[0.1, 0.2], [0.3, 0.4], [0.45, 0.5]]  # a pause 0.2-0.3 between words, a gap 0.4-0.45 in one
    frames = tts.durations_in_frames(tokens, spans, 0.6, 1000, 50)
    assert frames == [2, 2, 2, 3, 1, 2] and sum(frames) == 12


def test_splits_are_by_sentence_and_deterministic(corpus, tmp_path):
    manifest, rows = corpus
    by_split = {s: {r["text"] for r in rows if r["split"] == s} for s in ("train", "validation", "test")}
    assert {k: len(v) for k, v in by_split.items()} == {"train": 24, "validation": 3, "test": 3}
    assert not by_split["test"] & by_split["train"] and not by_split["validation"] & by_split["train"]
    assert tts.sentences(3, tts.SCALES["tiny"]) == [(r["text"], r["split"]) for r in rows]
    assert tts.sentences(4, tts.SCALES["tiny"]) != tts.sentences(3, tts.SCALES["tiny"])
    again = tts.make_tts_single_voice(tmp_path, seed=3, scale="tiny", progress=False, workers=1)
    assert again.read_bytes() == manifest.read_bytes()
    first = rows[0]["path"]
    assert (again.parent / first).read_bytes() == (manifest.parent / first).read_bytes()
    config = json.loads((again.parent / "config.json").read_text())
    assert config["voice"] == "flite:slt" and config["hop_length"] == 200
    assert tts.make_tts_single_voice(tmp_path, seed=3, scale="tiny", progress=False) == again  # cached


def test_registry_and_errors(tmp_path):
    assert "tts-slt-synth" in registry.corpus_names()
    with pytest.raises(ConfigError, match="scale"):
        tts.make_tts_single_voice(tmp_path, scale="huge")
    with pytest.raises(ConfigError, match="seed"):
        tts.make_tts_single_voice(tmp_path, seed=-1)
