"""Two-speaker mixtures: determinism, split by voice, exact sums, levels, reverberant targets, caching."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import speech_mixtures as sm
from training.manifest import read_manifest
from zoo.errors import ConfigError, DataError

def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(p.relative_to(folder).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _pcm(path):
    x, sr = sf.read(path, dtype="int16")
    return x.astype(np.int64), sr


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, speech_manifest):
    out = {}
    for reverberant in (False, True):
        root = tmp_path_factory.mktemp("mix-reverb" if reverberant else "mix")
        out[reverberant] = sm.make_speech_mixtures(root, scale="tiny", progress=False, workers=1,
                                                   reverberant=reverberant, speech_manifest=speech_manifest)
    return out


def test_tiny_corpus_layout_and_split_by_voice(corpora, speech_speakers):
    manifest = corpora[False]
    assert manifest.parent.name == sm.NAME and corpora[True].parent.name == sm.NAME_REVERB
    rows = read_manifest(manifest, required=sm.MIXTURE_KEYS)
    assert {s: sum(r["split"] == s for r in rows) for s in speech_speakers} == sm.SCALES["tiny"]
    for row in rows:
        assert len(set(row["speakers"])) == 2 and set(row["speakers"]) <= set(speech_speakers[row["split"]])
        for speaker, clips in zip(row["speakers"], row["speech_clips"]):
            assert all(c.endswith(f"/{speaker}.wav") and "silence" not in c for c in clips)
            assert sm.WORDS_PER_UTTERANCE[0] <= len(clips) <= sm.WORDS_PER_UTTERANCE[1]
    by_split = {s: {v for r in rows if r["split"] == s for v in r["speakers"]} for s in speech_speakers}
    assert not (by_split["train"] & by_split["validation"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["validation"] & by_split["test"])


def test_mixture_is_the_exact_sum_and_levels_match(corpora):
    manifest = corpora[False]
    for row in read_manifest(manifest, required=sm.MIXTURE_KEYS):
        mix, sr = _pcm(manifest.parent / row["path"])
        s1, s2 = (_pcm(manifest.parent / p)[0] for p in row["sources"])
        assert sr == sm.SAMPLE_RATE and len(mix) == row["num_samples"] == len(s1)
        np.testing.assert_array_equal(mix, s1 + s2)
        assert max(np.abs(mix).max(), np.abs(s1).max(), np.abs(s2).max()) <= sm.PEAK_MAX * 32768 + 1
        level = 10 * np.log10(np.mean(s1.astype(float) ** 2) / np.mean(s2.astype(float) ** 2))
        assert level == pytest.approx(row["sir_db"], abs=0.05)
        assert sm.SIR_RANGE_DB[0] <= row["sir_db"] <= sm.SIR_RANGE_DB[1]
        assert row["room"] is None and row["target"] == "dry" and row["mode"] == "min"


def test_reverberant_variant(corpora):
    dry_rows = read_manifest(corpora[False], required=sm.MIXTURE_KEYS)
    rows = read_manifest(corpora[True], required=sm.MIXTURE_KEYS)
    folder = corpora[True].parent
    for dry, row in zip(dry_rows, rows):
        # Same draws as the anechoic corpus: speakers, words, SIR.
        assert (dry["speakers"], dry["words"], dry["sir_db"]) == (row["speakers"], row["words"], row["sir_db"])
        mix = _pcm(folder / row["path"])[0]
        images = [_pcm(folder / p)[0] for p in row["images"]]
        targets = [_pcm(folder / p)[0].astype(float) for p in row["sources"]]
        np.testing.assert_array_equal(mix, images[0] + images[1])
        level = 10 * np.log10(np.mean(images[0].astype(float) ** 2) / np.mean(images[1].astype(float) ** 2))
        assert level == pytest.approx(row["sir_db"], abs=0.05)
        # Direct-path targets lack the reverberation the images carry.
        for image, target in zip(images, targets):
            residual = image - target
            assert 0.05 < np.sum(residual**2) / np.sum(image.astype(float) ** 2) < 2.0
        room = row["room"]
        assert sm.RT60_RANGE[0] <= room["rt60"] <= sm.RT60_RANGE[1] and row["target"] == "direct_path"
        assert room["room_index"] == row["index"] // sm.ROOM_REUSE and len(room["sources"]) == 2


def test_rirs_direct_path_is_the_delayed_dry_signal():
    rng = np.random.default_rng(0)
    room = sm.draw_room(rng)
    mic = sm.random_positions(rng, room["dims"], 1)
    srcs = sm.random_positions(rng, room["dims"], 2, avoid=mic)
    rirs, direct = sm.room_rirs(room, srcs, mic, 8000)
    assert rirs.shape == direct.shape == (2, 1, int(sm.RIR_SECONDS * 8000))
    for k in range(2):
        assert np.max(np.abs(direct[k, 0])) == pytest.approx(1.0)
        # The direct path is where the full RIR starts; it arrives at distance / c.
        d = np.linalg.norm(srcs[k] - mic[0])
        lag = int(np.argmax(np.abs(direct[k, 0])))
        first = min(np.linalg.norm(s - mic[0]) for s in srcs)
        assert abs(lag - ((d - first) / 343.0 * 8000 + sm.PRE_DELAY_S * 8000)) <= 1.5
        # pra high-passes every RIR at 10 Hz (zero phase): compare the peak, not the slow baseline.
        assert rirs[k, 0, lag] == pytest.approx(direct[k, 0, lag], abs=0.15)
        assert np.sum(rirs[k, 0] ** 2) > 1.2 * np.sum(direct[k, 0] ** 2)  # plus reflections


def test_deterministic_for_any_workers_and_cached(tmp_path, speech_manifest, corpora):
    again = sm.make_speech_mixtures(tmp_path / "a", scale="tiny", progress=False, workers=2, reverberant=True,
                                    speech_manifest=speech_manifest)
    assert _digest(again.parent) == _digest(corpora[True].parent)
    mtime = again.stat().st_mtime_ns
    assert sm.make_speech_mixtures_reverb(tmp_path / "a", scale="tiny", progress=False, workers=1,
                                          speech_manifest=speech_manifest) == again
    assert again.stat().st_mtime_ns == mtime
    other = sm.make_speech_mixtures(tmp_path / "b", seed=1, scale="tiny", progress=False, workers=1,
                                    speech_manifest=speech_manifest)
    assert _digest(other.parent) != _digest(corpora[False].parent)


def test_argument_errors(tmp_path, speech_manifest):
    with pytest.raises(ConfigError, match="unknown corpus scale"):
        sm.make_speech_mixtures(tmp_path, scale="huge", speech_manifest=speech_manifest)
    with pytest.raises(ConfigError, match="seed must be a non-negative int"):
        sm.make_speech_mixtures(tmp_path, seed=-1, speech_manifest=speech_manifest)
    with pytest.raises(DataError, match="speech manifest not found"):
        sm.make_speech_mixtures(tmp_path, speech_manifest=tmp_path / "none.jsonl")
    rows = [json.loads(line) for line in speech_manifest.read_text().splitlines()]
    lonely = tmp_path / "lonely" / "manifest.jsonl"
    lonely.parent.mkdir()
    lonely.write_text("".join(json.dumps(r) + "\n" for r in rows if r["speaker"] != "v4"))
    (lonely.parent / "audio").symlink_to(speech_manifest.parent / "audio")
    with pytest.raises(DataError, match="too few speakers in the validation split"):
        sm.make_speech_mixtures(tmp_path / "out", scale="tiny", progress=False, workers=1, speech_manifest=lonely)
