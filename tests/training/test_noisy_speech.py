"""noisy-speech: noisy == clean + noise, SNR as drawn, noises and voices never shared between splits, determinism."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import noisy_speech as ns
from training.corpora import speech_mixtures as sm
from training.manifest import read_manifest
from zoo.audio import write_audio
from zoo.errors import ConfigError

SPEAKERS = {"train": ["v0", "v1"], "validation": ["v2"], "test": ["v3"]}
NOISE_SPLITS = ["train", "train", "validation", "test"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """(speech manifest, noise cache): harmonic 'words' by voice, and a noise bank in noise.py's layout."""
    folder = tmp_path_factory.mktemp("speech")
    rows = []
    for split, voices in SPEAKERS.items():
        for voice in voices:
            for w in range(3):
                n = 4000 + 500 * w
                t = np.arange(n) / 16000
                f0 = 100.0 + 40 * int(voice[1:]) + 10 * w
                clip = np.zeros(16000, np.float32)
                word = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
                clip[1000 : 1000 + n] = 0.3 * np.hanning(n) * word
                rel = f"audio/w{w}/{voice}.wav"
                write_audio(folder / rel, clip, 16000)
                rows.append({"path": rel, "label": f"w{w}", "split": split, "speaker": voice, "engine": "flite",
                             "offset": 1000, "word_samples": n})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = tmp_path_factory.mktemp("noise-cache")
    rng = np.random.default_rng(0)
    records = []
    for i, split in enumerate(NOISE_SPLITS):
        rel = f"fake/noise{i}.wav"
        write_audio(cache / "noise" / rel, rng.uniform(-0.5, 0.5, 12000 + 4000 * i).astype(np.float32), 16000)
        records.append({"path": rel, "package": "fake", "license": "CC0-1.0", "duration": 0.75 + 0.25 * i,
                        "sample_rate": 16000, "split": split})
    (cache / "noise" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder / "manifest.jsonl", cache


def _make(root, inputs, **kw):
    speech, cache = inputs
    kw.setdefault("workers", 1)
    return ns.make_noisy_speech(root, scale="tiny", progress=False, speech_manifest=speech, noise_cache=cache, **kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, inputs):
    return _make(tmp_path_factory.mktemp("noisy"), inputs)


def _pcm(path):
    x, sr = sf.read(path, dtype="int16")
    return x.astype(np.int64), sr


def test_noisy_is_clean_plus_noise_at_the_drawn_snr(corpus):
    rows = read_manifest(corpus, required=sm.MIXTURE_KEYS + ("noise", "snr_db"))
    assert {s: sum(r["split"] == s for r in rows) for s in SPEAKERS} == ns.SCALES["tiny"]
    for row in rows:
        noisy, sr = _pcm(corpus.parent / row["path"])
        clean, noise = _pcm(corpus.parent / row["sources"][0])[0], _pcm(corpus.parent / row["noise"])[0]
        assert sr == ns.SAMPLE_RATE and len(noisy) == row["num_samples"]
        np.testing.assert_array_equal(noisy, clean + noise)
        snr = 10 * np.log10(np.sum(clean.astype(float) ** 2) / np.sum(noise.astype(float) ** 2))
        assert snr == pytest.approx(row["snr_db"], abs=0.05)
        assert ns.SNR_RANGE_DB[0] <= row["snr_db"] <= ns.SNR_RANGE_DB[1]
        assert np.abs(noisy).max() <= sm.PEAK_MAX * 32768 + 2
        if not row["reverberant"]:  # dry clean speech is silent in its padding
            assert not np.any(clean[: row["speech_offset"]])
            assert row["target"] == "dry" and row["room"] is None
        else:
            assert row["target"] == "reverberant_image" and sm.RT60_RANGE[0] <= row["room"]["rt60"] <= sm.RT60_RANGE[1]


def test_voices_and_noise_files_stay_in_their_split(corpus, inputs):
    rows = read_manifest(corpus, required=sm.MIXTURE_KEYS)
    noise_split = {f"fake/noise{i}.wav": s for i, s in enumerate(NOISE_SPLITS)}
    kinds = set()
    for row in rows:
        assert row["speakers"][0] in SPEAKERS[row["split"]]
        for path in row["noise_files"]:
            assert noise_split[path] == row["split"]
        assert ("recorded" in row["noise_kind"]) == bool(row["noise_files"])
        assert ("colored" in row["noise_kind"]) == (row["noise_color"] is not None)
        kinds.add(row["noise_kind"])
    assert "recorded" in " ".join(kinds)
    used = {s: {p for r in rows if r["split"] == s for p in r["noise_files"]} for s in SPEAKERS}
    assert not (used["train"] & (used["validation"] | used["test"]))


def test_draw_noise_kinds_and_channels():
    rng = np.random.default_rng(0)
    recorded = [("a.wav", np.sin(np.arange(3000) / 5.0).astype(np.float32))]
    x, info = ns.draw_noise(rng, 10000, recorded, kinds=(("recorded", 1.0),))
    assert x.shape == (10000,) and np.sqrt(np.mean(x.astype(float) ** 2)) == pytest.approx(1.0, rel=1e-4)
    assert info == {"noise_kind": "recorded", "noise_files": ["a.wav"], "noise_color": None}
    x, info = ns.draw_noise(rng, 5000, [], channels=3)  # no recordings: colored only
    assert x.shape == (3, 5000) and info["noise_kind"] == "colored" and info["noise_color"] is not None
    assert not np.allclose(x[0], x[1])  # independent draws per channel
    looped = ns.loop_window(np.arange(5.0), 12, np.random.default_rng(1))
    assert len(looped) == 12 and np.all(np.diff(looped) % 5 == 1)  # consecutive samples, wrapping around


def test_deterministic_and_seeded(tmp_path, inputs, corpus):
    def digest(folder):
        h = hashlib.sha256()
        for p in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
        return h.hexdigest()

    again = _make(tmp_path / "a", inputs)
    assert digest(again.parent) == digest(corpus.parent)
    assert digest(_make(tmp_path / "b", inputs, seed=3).parent) != digest(corpus.parent)
    with pytest.raises(ConfigError, match="workers must be an int >= 1"):
        _make(tmp_path / "c", inputs, workers=0)
