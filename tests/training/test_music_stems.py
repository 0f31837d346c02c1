"""music-stems at scale "tiny": exact stems, manifest, splits, determinism, cache, MIDI, registry."""

import hashlib

import numpy as np
import pytest
import soundfile as sf

from training.corpora import music_stems as ms
from training.corpora import registry
from training.manifest import SPLITS, read_manifest
from zoo.errors import ConfigError

pytestmark = pytest.mark.skipif(not ms.Path(ms.SOUNDFONT).is_file(), reason="fluid-soundfont-gm not installed")


def _digest(root):
    out = root / ms.NAME
    files = sorted(p for p in out.rglob("*") if p.is_file())
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("stems")
    manifest = registry.make_corpus(ms.NAME, root, seed=3, scale="tiny", progress=False)
    return root, manifest, read_manifest(manifest, required=ms.MUSIC_KEYS)


def test_manifest_rows_keys_and_stem_order(corpus):
    root, manifest, rows = corpus
    assert len(rows) == ms.SCALES["tiny"] == 10
    assert manifest.read_text().count("\n") == 10 and (manifest.parent / "README.md").is_file()
    for i, row in enumerate(rows):
        assert set(ms.MUSIC_KEYS) <= set(row)
        assert row["seed"] == 3 * 1_000_003 + i and row["split"] == ms.split_of(row["seed"])
        assert [p.rsplit("_", 1)[1] for p in row["sources"]] == ["bass.wav", "drums.wav", "chords.wav", "lead.wav"]
        assert set(row["programs"]) == set(ms.STEMS)
        assert all(row["programs"][s] in ms.PROGRAMS[s] for s in ms.STEMS)
        assert ms.TEMPO_RANGE[0] <= row["tempo"] <= ms.TEMPO_RANGE[1]
        tonic, mode = row["key"].split()
        assert tonic in ms.TONICS and mode in ms.MODES


def test_stems_sum_to_the_mixture_exactly(corpus):
    root, manifest, rows = corpus
    n = int(ms.SONG_SECONDS * ms.SAMPLE_RATE)
    for row in rows:
        mix, sr = sf.read(manifest.parent / row["path"], dtype="int16")
        stems = np.stack([sf.read(manifest.parent / p, dtype="int16")[0] for p in row["sources"]]).astype(np.int32)
        assert sr == ms.SAMPLE_RATE and mix.shape == (n,) and stems.shape == (4, n)
        np.testing.assert_array_equal(stems.sum(axis=0), mix.astype(np.int32))  # sample-exact, 16-bit ints
        rms = np.sqrt(np.mean((stems / 32768.0) ** 2, axis=1))
        assert np.all(rms > 0.005), rms  # every stem sounds
        peak = np.abs(mix).max() / 32768.0
        assert 0.1 < peak <= ms.PEAK + 1e-4


def test_rendered_bass_is_low_and_lead_is_high(corpus):
    # the stems hold what their MIDI says: spectral centroid of bass << lead
    import librosa

    root, manifest, rows = corpus
    row = rows[0]
    bass, lead = (sf.read(manifest.parent / row["sources"][i], dtype="float32")[0] for i in (0, 3))
    c_bass = np.median(librosa.feature.spectral_centroid(y=bass, sr=ms.SAMPLE_RATE))
    c_lead = np.median(librosa.feature.spectral_centroid(y=lead, sr=ms.SAMPLE_RATE))
    assert c_bass < c_lead


def test_splits_are_disjoint_by_song_seed(corpus):
    _, _, rows = corpus
    seeds = {s: {r["seed"] for r in rows if r["split"] == s} for s in SPLITS}
    assert all(seeds.values())  # tiny has one test and one validation song
    assert not (seeds["train"] & seeds["test"]) and not (seeds["train"] & seeds["validation"])
    assert not (seeds["validation"] & seeds["test"])
    paths = {s: {p for r in rows if r["split"] == s for p in [r["path"], *r["sources"]]} for s in SPLITS}
    assert all(p.startswith(f"audio/{s}/") for s in SPLITS for p in paths[s])
    assert [ms.split_of(s) for s in (10, 21, 32)] == ["test", "validation", "train"]


def test_deterministic_and_cached(corpus, tmp_path):
    root, manifest, _ = corpus
    again = ms.make_music_stems(tmp_path, seed=3, scale="tiny", progress=False)
    assert _digest(tmp_path) == _digest(root)
    before = again.stat().st_mtime_ns
    assert ms.make_music_stems(tmp_path, seed=3, scale="tiny", progress=False) == again
    assert again.stat().st_mtime_ns == before  # cache hit: nothing rewritten


def test_compose_is_seeded_and_inside_the_song():
    a, b, c = ms.compose(7), ms.compose(7), ms.compose(8)
    assert a == b and a != c
    end = ms.SONG_SECONDS * 1000
    for stem in ms.STEMS:
        assert a["notes"][stem]
        for onset, length, pitch, velocity in a["notes"][stem]:
            assert 0 <= onset < end and onset + length <= end + 1 and 0 <= pitch < 128 and 1 <= velocity <= 127
    assert {p for _, _, p, _ in a["notes"]["drums"]} <= {ms.KICK, ms.SNARE, ms.CLAP, ms.CLOSED_HAT, ms.OPEN_HAT,
                                                        ms.RIDE, ms.CRASH}


def test_stem_midi_uses_channel_10_for_drums_and_one_slot_per_song():
    songs = [ms.compose(1), ms.compose(2)]
    drums = ms.stem_midi_bytes("drums", songs)
    bass = ms.stem_midi_bytes("bass", songs)
    assert drums[:4] == b"MThd" and drums[14:18] == b"MTrk"
    body = drums[22:]
    assert body[:7] == bytes([0, 0xFF, 0x51, 3]) + ms.TEMPO_US.to_bytes(3, "big")
    assert body[7:10] == bytes([0, 0xC9, songs[0]["meta"]["programs"]["drums"]])  # kit change on channel 10
    assert bass[29:32] == bytes([0, 0xC0, songs[0]["meta"]["programs"]["bass"]])
    assert bytes([0xB9, 120, 0]) in drums  # All Sound Off between songs
    assert bytes([0xC9, songs[1]["meta"]["programs"]["drums"]]) in body[10:]  # the second song's kit


def test_bad_arguments_raise():
    with pytest.raises(ConfigError, match="unknown corpus scale"):
        ms.make_music_stems("unused", scale="huge")
    with pytest.raises(ConfigError, match="seed"):
        ms.make_music_stems("unused", seed=-1)
    assert ms.NAME in registry.corpus_names()
