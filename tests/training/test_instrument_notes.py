"""instrument-notes at scale "tiny": MIDI bytes, rows, audio, pitch splits, determinism, cache, registry."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora import instrument_notes as notes
from training.corpora import registry
from training.manifest import SPLITS, read_manifest
from zoo.errors import ConfigError, DataError

pytestmark = pytest.mark.skipif(not notes.Path(notes.SOUNDFONT).is_file(), reason="fluid-soundfont-gm not installed")


def _digest(root):
    out = root / notes.NAME
    files = sorted(p for p in out.rglob("*") if p.is_file())
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes")
    manifest = registry.make_corpus(notes.NAME, root, seed=5, scale="tiny", progress=False)
    return root, manifest, read_manifest(manifest, required=notes.NOTE_KEYS)


def test_midi_writer_bytes():
    data = notes.midi_bytes(40, [(60, 90)])
    assert data[:4] == b"MThd" and int.from_bytes(data[12:14], "big") == notes.TICKS_PER_QUARTER
    track = data[14:]  # "MThd" + length + 6 header bytes
    assert track[:4] == b"MTrk" and int.from_bytes(track[4:8], "big") == len(track) - 8
    body = track[8:]
    assert body[:7] == bytes([0, 0xFF, 0x51, 3]) + notes.TEMPO_US.to_bytes(3, "big")
    assert body[7:10] == bytes([0, 0xC0, 40])  # program change at time 0
    assert body[10:14] == bytes([0, 0x90, 60, 90])
    # note off after NOTE_SECONDS = 800 ticks: variable-length 800 = 0x86 0x20
    assert body[14:19] == bytes([0x86, 0x20, 0x80, 60, 0]) and body[-3:] == bytes([0xFF, 0x2F, 0])
    with pytest.raises(DataError, match="bad MIDI note"):
        notes.midi_bytes(0, [(60, 0)])
    with pytest.raises(DataError, match="program or channel"):
        notes.midi_bytes(0, [(60, 90)], channel=9)


def test_rows_and_audio(corpus):
    root, manifest, rows = corpus
    scale = notes.SCALES["tiny"]
    assert len(rows) == len(scale.instruments) * len(scale.pitches) * len(scale.velocities)
    assert {(r["label"], r["pitch"], r["velocity"]) for r in rows} == {
        (i, p, v) for i in scale.instruments for p in scale.pitches for v in scale.velocities}
    for row in rows:
        assert set(notes.NOTE_KEYS) <= set(row) and row["label"] == row["instrument"]
        assert row["program"] == notes.INSTRUMENTS[row["label"]] and row["engine"] == "fluidsynth"
        x, sr = sf.read(manifest.parent / row["path"], dtype="float32")
        assert sr == notes.SAMPLE_RATE and x.shape == (16000,) and row["seed"] == 5
        assert abs(np.abs(x).max() - row["peak"]) < 1e-3 and 0.005 < row["peak"] < 0.999
        onset = np.argmax(np.abs(x) > 0.01 * row["peak"])
        assert onset < 0.02 * sr  # the note starts at the clip's start
        assert np.abs(x[-8:]).max() < 0.05 * row["peak"]  # and fades out at its end


def test_pitch_of_rendered_note_matches_midi(corpus):
    import librosa

    _, manifest, rows = corpus
    row = next(r for r in rows if r["label"] == "flute" and r["pitch"] == 60)
    x, sr = sf.read(manifest.parent / row["path"], dtype="float32")
    f0, voiced, _ = librosa.pyin(x[1600:12800], fmin=100, fmax=600, sr=sr, frame_length=2048)
    midi = librosa.hz_to_midi(np.nanmedian(f0[voiced]))
    assert abs(midi - 60) < 0.5


def test_splits_by_pitch_are_disjoint(corpus):
    _, _, rows = corpus
    pitches = {s: {r["pitch"] for r in rows if r["split"] == s} for s in SPLITS}
    assert all(pitches.values())
    assert not (pitches["train"] & pitches["test"]) and not (pitches["train"] & pitches["validation"])
    assert not (pitches["test"] & pitches["validation"])
    for row in rows:
        assert row["split"] == notes.split_of(row["pitch"])
    assert pitches["test"] <= set(notes.TEST_PITCHES) and pitches["validation"] <= set(notes.VALIDATION_PITCHES)
    paths = {s: {r["path"] for r in rows if r["split"] == s} for s in SPLITS}
    assert sum(len(p) for p in paths.values()) == len(rows)


def test_deterministic_cached_and_readme(corpus, tmp_path):
    root, manifest, rows = corpus
    first = _digest(root)
    again = notes.make_instrument_notes(tmp_path, seed=5, scale="tiny", progress=False)
    assert _digest(tmp_path) == first  # byte-identical in a fresh folder
    before = manifest.stat().st_mtime_ns
    assert notes.make_instrument_notes(root, seed=5, scale="tiny", progress=False) == manifest
    assert manifest.stat().st_mtime_ns == before  # cached: not rewritten
    config = json.loads((again.parent / "config.json").read_text())
    assert config["scale"] == "tiny" and config["test_pitches"] == list(notes.TEST_PITCHES)
    readme = (manifest.parent / "README.md").read_text()
    assert "test pitches [51, 58, 65]" in readme and "MIT license" in readme


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="unknown corpus scale"):
        notes.make_instrument_notes(tmp_path, scale="huge", progress=False)
    with pytest.raises(DataError, match="soundfont not found"):
        notes.make_instrument_notes(tmp_path, scale="tiny", progress=False, soundfont=tmp_path / "none.sf2")
    assert "instrument-notes" in registry.corpus_names()
