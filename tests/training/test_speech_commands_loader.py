"""The real Speech Commands v2 loader, on a tiny fixture in the data set's exact layout."""

import json

import numpy as np
import pytest
import soundfile as sf

from training.corpora.speech_commands import noise_split, speaker_of, speech_commands_manifest
from training.manifest import CLIP_KEYS, read_manifest
from zoo.errors import DataError

SPEAKERS = ["0a7c2a8d", "1b4c9b89", "c50f55b8", "ffd2ba2f"]
WORDS = ["yes", "no", "marvin"]


def _tone(n, freq, sr=16000):
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


@pytest.fixture
def sc_root(tmp_path):
    """<root>/<word>/<hash>_nohash_<n>.wav, the two list files and _background_noise_/."""
    root = tmp_path / "speech_commands_v0.02"
    for w, word in enumerate(WORDS):
        (root / word).mkdir(parents=True)
        for s, spk in enumerate(SPEAKERS):
            for n in range(2 if s == 0 else 1):
                sf.write(root / word / f"{spk}_nohash_{n}.wav", _tone(16000 - 800 * s, 200 + 50 * w), 16000,
                         subtype="PCM_16")
    # Speaker-disjoint lists, as in the real data set.
    (root / "validation_list.txt").write_text("".join(f"{w}/{SPEAKERS[2]}_nohash_0.wav\n" for w in WORDS))
    (root / "testing_list.txt").write_text("".join(f"{w}/{SPEAKERS[3]}_nohash_0.wav\n" for w in WORDS))
    noise = root / "_background_noise_"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for name, seconds in [("white_noise", 3.5), ("pink_noise", 2.2), ("running_tap", 2.0), ("dude_miaowing", 4.0)]:
        sf.write(noise / f"{name}.wav", (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), 16000,
                 subtype="PCM_16")
    (noise / "README.md").write_text("noise")
    return root


def test_speaker_of_hash():
    assert speaker_of("0a7c2a8d_nohash_0.wav") == "0a7c2a8d"
    assert speaker_of("c50f55b8_nohash_12.wav") == "c50f55b8"
    assert speaker_of("odd.wav") == "odd"


def test_manifest_rows_splits_and_speakers(sc_root, tmp_path):
    out = tmp_path / "out" / "manifest.jsonl"
    assert speech_commands_manifest(sc_root, out) == out
    rows = read_manifest(out, required=CLIP_KEYS)
    words = [r for r in rows if r["label"] != "silence"]
    assert len(words) == len(WORDS) * (len(SPEAKERS) + 1)
    assert {r["label"] for r in words} == set(WORDS)
    by_split = {s: {r["speaker"] for r in words if r["split"] == s} for s in ("train", "validation", "test")}
    assert by_split == {"train": {SPEAKERS[0], SPEAKERS[1]}, "validation": {SPEAKERS[2]}, "test": {SPEAKERS[3]}}
    for r in words:
        path = out.parent / r["path"]
        assert path.is_file() and r["path"].startswith("../")
        assert r["speaker"] == r["path"].rsplit("/", 1)[1].split("_nohash_")[0]
        assert r["sample_rate"] == 16000 and r["engine"] == "recorded"
        assert r["duration"] == pytest.approx(sf.info(str(path)).frames / 16000)
    two = [r for r in words if r["speaker"] == SPEAKERS[0]]
    assert len(two) == 2 * len(WORDS) and all(r["split"] == "train" for r in two)


def test_silence_windows_split_by_noise_file(sc_root, tmp_path):
    out = tmp_path / "m.jsonl"
    rows = [r for r in read_manifest(speech_commands_manifest(sc_root, out)) if r["label"] == "silence"]
    # floor(seconds) windows per file: 3 + 2 + 2 + 4
    assert len(rows) == 11
    per_file = {}
    for r in rows:
        per_file.setdefault(r["speaker"], set()).add(r["split"])
        x, sr = sf.read(out.parent / r["path"], dtype="int16")
        assert sr == 16000 and len(x) == 16000
        src, _ = sf.read(sc_root / r["source"], dtype="int16")
        np.testing.assert_array_equal(x, src[r["offset"]: r["offset"] + 16000])
    assert all(len(s) == 1 for s in per_file.values())  # a noise file never spans two splits
    assert {next(iter(s)) for s in per_file.values()} == {"train", "validation", "test"}
    assert noise_split(["a", "b"]) == {"a": "train", "b": "train"}


def test_missing_list_file_is_a_clear_error(sc_root, tmp_path):
    (sc_root / "testing_list.txt").unlink()
    with pytest.raises(DataError, match="testing_list.txt"):
        speech_commands_manifest(sc_root, tmp_path / "m.jsonl")


def test_listed_file_missing_is_reported(sc_root, tmp_path):
    (sc_root / "yes" / f"{SPEAKERS[3]}_nohash_0.wav").unlink()
    with pytest.raises(DataError, match="not in the folder") as info:
        speech_commands_manifest(sc_root, tmp_path / "m.jsonl")
    assert "yes/ffd2ba2f_nohash_0.wav" in str(info.value)


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match="not found"):
        speech_commands_manifest(tmp_path / "nope", tmp_path / "m.jsonl")


def test_manifest_is_deterministic(sc_root, tmp_path):
    a = speech_commands_manifest(sc_root, tmp_path / "a" / "m.jsonl").read_bytes()
    b = speech_commands_manifest(sc_root, tmp_path / "b" / "m.jsonl").read_bytes()
    assert a == b
    assert all(json.loads(line)["path"] for line in a.decode().splitlines())
