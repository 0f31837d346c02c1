"""array-mixtures: 4 channels, channel 0 == sources + noise, geometry and DOA labels, diffuse coherence, splits."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import array_mixtures as am
from training.corpora import speech_mixtures as sm
from training.manifest import read_manifest
from zoo.audio import write_audio

SPEAKERS = {"train": ["v0", "v1", "v2"], "validation": ["v3", "v4"], "test": ["v5", "v6"]}
NOISE_SPLITS = ["train", "validation", "test"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """(speech manifest, noise cache) with harmonic 'words' per voice and one noise file per split."""
    folder = tmp_path_factory.mktemp("speech")
    rows = []
    for split, voices in SPEAKERS.items():
        for voice in voices:
            for w in range(3):
                n = 5000 + 700 * w
                t = np.arange(n) / 16000
                f0 = 95.0 + 30 * int(voice[1:]) + 7 * w
                clip = np.zeros(16000, np.float32)
                word = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
                clip[2000 : 2000 + n] = 0.3 * np.hanning(n) * word
                rel = f"audio/w{w}/{voice}.wav"
                write_audio(folder / rel, clip, 16000)
                rows.append({"path": rel, "label": f"w{w}", "split": split, "speaker": voice, "engine": "festival",
                             "offset": 2000, "word_samples": n})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = tmp_path_factory.mktemp("noise-cache")
    rng = np.random.default_rng(0)
    records = []
    for i, split in enumerate(NOISE_SPLITS):
        rel = f"fake/noise{i}.wav"
        write_audio(cache / "noise" / rel, rng.uniform(-0.5, 0.5, 16000).astype(np.float32), 16000)
        records.append({"path": rel, "package": "fake", "license": "CC0-1.0", "duration": 1.0, "sample_rate": 16000,
                        "split": split})
    (cache / "noise" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder / "manifest.jsonl", cache


def _make(root, inputs, workers=1):
    speech, cache = inputs
    return am.make_array_mixtures(root, scale="tiny", progress=False, workers=workers, speech_manifest=speech,
                                  noise_cache=cache)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, inputs):
    return _make(tmp_path_factory.mktemp("array"), inputs)


def test_channel_zero_is_sources_plus_noise(corpus):
    rows = read_manifest(corpus, required=sm.MIXTURE_KEYS + ("noise", "doa", "mic_positions"))
    assert {s: sum(r["split"] == s for r in rows) for s in SPEAKERS} == am.SCALES["tiny"]
    for row in rows:
        mix, sr = sf.read(corpus.parent / row["path"], dtype="int16")
        mix = mix.astype(np.int64).T
        sources = [sf.read(corpus.parent / p, dtype="int16")[0].astype(np.int64) for p in row["sources"]]
        noise = sf.read(corpus.parent / row["noise"], dtype="int16")[0].astype(np.int64)
        assert sr == am.SAMPLE_RATE and mix.shape == (am.NUM_MICS, row["num_samples"])
        assert len(sources) == row["num_speakers"] == len(row["speakers"]) == len(row["doa"]) in (1, 2)
        np.testing.assert_array_equal(mix[0], np.sum(sources, axis=0) + noise)
        assert np.abs(mix).max() <= sm.PEAK_MAX * 32768 + 4
        # The other microphones hear the same scene, not a copy of channel 0.
        assert 0.3 < np.corrcoef(mix[0], mix[1])[0, 1] < 0.99999
        snr = 10 * np.log10(np.sum(np.sum(sources, axis=0).astype(float) ** 2) / np.sum(noise.astype(float) ** 2))
        assert snr == pytest.approx(row["snr_db"], abs=0.05)
        assert row["speakers"] and set(row["speakers"]) <= set(SPEAKERS[row["split"]])
        assert row["noise_files"] in ([], [f"fake/noise{NOISE_SPLITS.index(row['split'])}.wav"])


def test_geometry_and_doa_labels(corpus):
    for row in read_manifest(corpus, required=sm.MIXTURE_KEYS):
        mics = np.array(row["mic_positions"])
        center = np.array(row["array"]["center"])
        np.testing.assert_allclose(mics.mean(0), center, atol=1e-4)
        gaps = np.linalg.norm(np.diff(mics, axis=0), axis=1)
        if row["array"]["geometry"] == "linear":
            np.testing.assert_allclose(gaps, am.LINEAR_SPACING, atol=1e-4)
        else:
            np.testing.assert_allclose(np.linalg.norm(mics - center, axis=1), am.CIRCULAR_RADIUS, atol=1e-4)
        dims = np.array(row["room"]["dims"])
        for pos, doa in zip(row["source_positions"], row["doa"]):
            v = np.array(pos) - center
            assert np.all(np.array(pos) > 0) and np.all(np.array(pos) < dims)
            assert doa["distance_m"] == pytest.approx(np.linalg.norm(v), abs=1e-3)
            az = np.radians(doa["azimuth_deg"])
            horizontal = np.linalg.norm(v[:2])
            np.testing.assert_allclose(horizontal * np.array([np.cos(az), np.sin(az)]), v[:2], atol=2e-3)
            rel = (doa["azimuth_deg"] - doa["array_azimuth_deg"] - row["array"]["rotation_deg"]) % 360
            assert min(rel, 360 - rel) < 1e-2
        if row["num_speakers"] == 2:
            d = abs(row["doa"][0]["azimuth_deg"] - row["doa"][1]["azimuth_deg"]) % 360
            assert min(d, 360 - d) >= am.MIN_SEPARATION_DEG - 1e-3


def test_diffuse_noise_has_sinc_coherence():
    from scipy.signal import coherence

    rng = np.random.default_rng(0)
    mics = np.array([[0.0, 0, 0], [0.1, 0, 0], [0.3, 0, 0]])
    x = am.diffuse_noise(rng.standard_normal((3, 16000 * 8)), mics, 16000)
    for a, b in ((0, 1), (0, 2)):
        f, msc = coherence(x[a], x[b], fs=16000, nperseg=512)
        expected = np.sinc(2 * f * np.linalg.norm(mics[a] - mics[b]) / am.SPEED_OF_SOUND) ** 2
        band = (f > 100) & (f < 6000)
        assert np.mean(np.abs(msc[band] - expected[band])) < 0.03
    # Equal levels on all channels.
    levels = np.sqrt(np.mean(x**2, axis=1))
    np.testing.assert_allclose(levels / levels[0], 1.0, atol=0.05)


def test_deterministic_with_two_workers(tmp_path, inputs, corpus):
    def digest(folder):
        h = hashlib.sha256()
        for p in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
        return h.hexdigest()

    assert digest(_make(tmp_path / "a", inputs, workers=2).parent) == digest(corpus.parent)
