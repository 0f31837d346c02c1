"""speech-commands-synth: voices, clip shaping, split by voice, manifest schema, determinism, caching."""

import hashlib
import json
import os

import numpy as np
import pytest
import soundfile as sf

from training.corpora import speech_commands_synth as scs
from training.corpora import voices
from training.manifest import CLIP_KEYS, read_manifest, write_manifest
from zoo.errors import ConfigError, DataError


def _engine_or_skip(engine):
    try:
        voices.check_engine(engine)
    except DataError as e:
        pytest.skip(f"{engine} not installed: {e}")


@pytest.fixture
def noise_cache(tmp_path):
    """A recorded-noise bank in noise.py's cache layout (one file per split, two in train)."""
    from zoo.audio import write_audio

    cache = tmp_path / "noise-cache"
    rng = np.random.default_rng(0)
    records = []
    for i, split in enumerate(["train", "train", "validation", "test"]):
        rel = f"fake/noise{i}.wav"
        write_audio(cache / "noise" / rel, rng.uniform(-0.5, 0.5, 20000 + 4000 * i).astype(np.float32), 16000)
        records.append({"path": rel, "package": "fake", "license": "CC0-1.0", "duration": 1.25 + 0.25 * i,
                        "sample_rate": 16000, "split": split})
    (cache / "noise" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return cache


def _make(root, noise_cache, engines, **kw):
    return scs.make_speech_commands_synth(root, scale="tiny", engines=engines, progress=False, workers=1,
                                          noise_cache=noise_cache, **kw)


def _tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _check_corpus(manifest, engine):
    rows = read_manifest(manifest, required=CLIP_KEYS)
    words = [r for r in rows if r["label"] != "silence"]
    assert {r["engine"] for r in words} == {engine}
    assert {r["label"] for r in words} == set(scs.SCALES["tiny"].words)
    speakers = {}
    for r in rows:
        speakers.setdefault(r["speaker"], set()).add(r["split"])
        assert r["sample_rate"] == 16000 and r["duration"] == 1.0 and r["seed"] == 0
        info = sf.info(str(manifest.parent / r["path"]))
        assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (
            "WAV", "PCM_16", 16000, 1, 16000)
    assert all(len(s) == 1 for s in speakers.values()), "a speaker is in two splits"
    for r in words:
        assert scs.RATE_RANGE[0] <= r["rate"] <= scs.RATE_RANGE[1]
        assert scs.PITCH_RANGE[0] <= r["pitch"] <= scs.PITCH_RANGE[1]
        x, _ = sf.read(manifest.parent / r["path"], dtype="float64")
        word = slice(r["offset"], r["offset"] + r["word_samples"])
        assert np.sum(x[word] ** 2) >= 0.999 * np.sum(x ** 2)  # the word lies where the row says
        assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(r["peak_db"], abs=0.05)
        assert r["path"] == f"audio/{r['label']}/{scs.slug(r['speaker'])}_{r['path'].rsplit('_', 1)[1]}"
    splits = json.loads((manifest.parent / "splits.json").read_text())
    assert {r["speaker"]: r["split"] for r in words} == {v: s for v, s in splits.items()
                                                        if v in {r["speaker"] for r in words}}
    return rows


# --- voices -------------------------------------------------------------------------------------

def _f0(x, sr=16000):
    import librosa

    f0, voiced, _ = librosa.pyin(x, fmin=60, fmax=400, sr=sr, frame_length=1024)
    return float(np.nanmedian(f0[voiced]))


def _speech_seconds(x):
    return len(scs.trim_silence(x)) / 16000


@pytest.mark.tts
@pytest.mark.parametrize("voice_id", ["flite:slt", "flite:rms", "festival:kal_diphone",
                                      "festival:cmu_us_slt_arctic_hts", "espeak-ng:en-us+m3"])
def test_tts_voice_rate_and_pitch(voice_id):
    _engine_or_skip(voice_id.split(":")[0])
    voice = voices.make_voice(voice_id)
    assert voice.id == voice_id
    text = "seven zero one"
    base, sr = voice.synthesize(text)
    assert sr == 16000 and base.dtype == np.float32 and base.ndim == 1 and 0 < np.abs(base).max() <= 1
    high, _ = voice.synthesize(text, pitch=1.2)
    fast, _ = voice.synthesize(text, rate=1.25)
    assert _f0(high) / _f0(base) == pytest.approx(1.2, abs=0.08)
    assert _speech_seconds(base) / _speech_seconds(fast) == pytest.approx(1.25, abs=0.15)


def test_piper_voice_rate_pitch_and_seed():
    _engine_or_skip("piper")
    voice = voices.make_voice("piper:joe", seed=3)
    base, sr = voice.synthesize("seven zero one", noise_scale=0.0, noise_w=0.0)
    high, _ = voice.synthesize("seven zero one", pitch=1.2, noise_scale=0.0, noise_w=0.0)
    slow, _ = voice.synthesize("seven zero one", rate=0.8, noise_scale=0.0, noise_w=0.0)
    assert sr == 16000 and voice.id == "piper:joe"
    assert _f0(high) / _f0(base) == pytest.approx(1.2, abs=0.08)
    assert _speech_seconds(slow) / _speech_seconds(base) == pytest.approx(1.25, abs=0.12)
    # Same seed and call sequence -> same audio.
    a = [voices.make_voice("piper:joe", seed=5).synthesize("go")[0] for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])


def test_missing_engine_names_the_package(monkeypatch):
    monkeypatch.setattr(voices.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="apt-get install flite"):
        voices.FliteVoice("slt")
    with pytest.raises(DataError, match="apt-get install festival"):
        voices.check_engine("festival")


def test_voice_arguments_are_checked():
    with pytest.raises(ConfigError, match="unknown flite voice"):
        voices.FliteVoice("nobody")
    with pytest.raises(ConfigError, match="unknown voice id"):
        voices.make_voice("sam:alice")
    if voices.shutil.which("flite"):
        with pytest.raises(ConfigError, match="rate must be a factor"):
            voices.FliteVoice("slt").synthesize("go", rate=0)


@pytest.mark.tts
def test_espeak_unknown_variant():
    _engine_or_skip("espeak-ng")
    assert "m3" in voices.EspeakVoice.available_variants()
    with pytest.raises(DataError, match="no voice variant"):
        voices.EspeakVoice("en-us", "no-such-variant")


# --- clip shaping ------------------------------------------------------------------------------

def test_trim_silence_finds_the_tone():
    x = np.zeros(16000, np.float32)
    x[4000:9000] = np.sin(np.arange(5000) * 0.3)
    y = scs.trim_silence(x)
    assert 5000 <= len(y) <= 5000 + 2 * 160 + 160
    assert np.array_equal(scs.trim_silence(np.zeros(800, np.float32)), np.zeros(0, np.float32))


def test_place_in_clip_pad_stretch_crop():
    word = np.sin(np.arange(8000) * 0.2).astype(np.float32)
    clip, offset, fit, length = scs.place_in_clip(word, 0.5, -6.0)
    assert (len(clip), fit, length, offset) == (16000, "pad", 8000, 4000)
    assert np.max(np.abs(clip)) == pytest.approx(10 ** (-6 / 20), rel=1e-5)
    assert not clip[:offset].any() and not clip[offset + length:].any()
    _, offset, fit, length = scs.place_in_clip(np.ones(17000, np.float32), 0.999, -1.0)
    assert fit == "stretch" and length <= 16000 and offset + length <= 16000
    clip, offset, fit, length = scs.place_in_clip(np.linspace(-1, 1, 40000).astype(np.float32), 0.3, -1.0)
    assert (fit, offset, length) == ("crop", 0, 16000)


# --- voice pool and split ----------------------------------------------------------------------

VARIANTS = [f"v{i}" for i in range(60)] + ["fast", "Mr serious"]


def test_voice_pool_split_by_voice():
    splits = scs.voice_pool(0, scs.SCALES["full"], scs.ENGINES, VARIANTS)
    assert splits == scs.voice_pool(0, scs.SCALES["full"], scs.ENGINES, VARIANTS)
    assert splits != scs.voice_pool(1, scs.SCALES["full"], scs.ENGINES, VARIANTS)
    espeak = {v: s for v, s in splits.items() if v.startswith("espeak-ng:")}
    assert len(espeak) >= 100 and not any("+fast" in v or " " in v for v in espeak)
    share = {s: sum(1 for x in splits.values() if x == s) / len(splits) for s in scs.SPLITS}
    assert 0.72 <= share["train"] <= 0.85 and share["validation"] >= 0.07 and share["test"] >= 0.07
    dialects = {s: {v.split(":")[1].split("+")[0] for v, x in espeak.items() if x == s} for s in scs.SPLITS}
    assert len(dialects["test"] - dialects["train"]) >= 2  # whole dialects unseen in training
    assert len(dialects["validation"] - dialects["train"]) >= 1
    assert set(scs.CORE_DIALECTS) <= dialects["train"]
    flite = sorted(s for v, s in splits.items() if v.startswith("flite:"))
    assert flite == ["test", "train", "train", "validation"]
    assert {v.split(":")[0] for v, s in splits.items() if s == "train"} == set(scs.ENGINES)


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="scale"):
        scs.make_speech_commands_synth(tmp_path, scale="huge")
    with pytest.raises(ConfigError, match="engines"):
        scs.make_speech_commands_synth(tmp_path, engines=["sam"])
    with pytest.raises(ConfigError, match="seed"):
        scs.make_speech_commands_synth(tmp_path, seed=-1)


# --- generation --------------------------------------------------------------------------------

@pytest.mark.tts
@pytest.mark.parametrize("engine", ["espeak-ng", "flite", "festival"])
def test_tiny_corpus_per_debian_engine(tmp_path, noise_cache, engine):
    _engine_or_skip(engine)
    manifest = _make(tmp_path, noise_cache, [engine])
    assert manifest == tmp_path / "speech-commands-synth" / "manifest.jsonl"
    rows = _check_corpus(manifest, engine)
    silence = [r for r in rows if r["label"] == "silence"]
    assert silence and {r["split"] for r in silence} <= set(scs.SPLITS)
    recorded = [r for r in silence if r["engine"] == "noise-bank"]
    noise_split = {f"noise:fake/noise{i}": s for i, s in enumerate(["train", "train", "validation", "test"])}
    assert all(r["split"] == noise_split[r["speaker"]] for r in recorded)  # split of the source file
    for r in silence:
        x, _ = sf.read(manifest.parent / r["path"])
        assert np.max(np.abs(x)) < 0.11  # low gain
    background = sorted(p.name for p in (manifest.parent / "_background_noise_").iterdir())
    assert "pink_noise.wav" in background and "recorded_noise_1.wav" in background
    readme = (manifest.parent / "README.md").read_text()
    assert engine in readme and "CC0-1.0" in readme


def test_tiny_corpus_piper(tmp_path, noise_cache):
    _engine_or_skip("piper")
    rows = _check_corpus(_make(tmp_path, noise_cache, ["piper"]), "piper")
    assert {r["split"] for r in rows if r["engine"] == "piper"} == {"train"}


@pytest.mark.tts
def test_same_seed_same_bytes_any_workers(tmp_path, noise_cache):
    engines = [e for e in ("espeak-ng", "flite", "piper") if not _unavailable(e)]
    if not engines:
        pytest.skip("no TTS engine installed")
    a = scs.make_speech_commands_synth(tmp_path / "a", scale="tiny", engines=engines, progress=False, workers=1,
                                       noise_cache=noise_cache)
    b = scs.make_speech_commands_synth(tmp_path / "b", scale="tiny", engines=engines, progress=False, workers=2,
                                       noise_cache=noise_cache)
    assert a.read_bytes() == b.read_bytes()
    assert _tree_digest(a.parent) == _tree_digest(b.parent)
    c = _make(tmp_path / "c", noise_cache, engines, seed=1)
    assert c.read_bytes() != a.read_bytes()


def _unavailable(engine):
    try:
        voices.check_engine(engine)
    except DataError:
        return True
    return False


@pytest.mark.tts
def test_cache_reuse_and_regeneration(tmp_path, noise_cache):
    _engine_or_skip("flite")
    manifest = _make(tmp_path, noise_cache, ["flite"])
    stamp = manifest.stat().st_mtime_ns
    assert _make(tmp_path, noise_cache, ["flite"]) == manifest
    assert manifest.stat().st_mtime_ns == stamp  # reused, not rewritten
    config = json.loads((manifest.parent / "config.json").read_text())
    assert config["seed"] == 0 and config["scale"] == "tiny" and config["engines"] == ["flite"]
    assert config["generator_version"] == scs.GENERATOR_VERSION
    stray = manifest.parent / "audio" / "yes" / "flite_old_voice_0.wav"
    stray.write_bytes(b"left over from an earlier corpus")
    _make(tmp_path, noise_cache, ["flite"], seed=4)  # another config: regenerated, old files gone
    rows = read_manifest(manifest)
    assert {r["seed"] for r in rows} == {4}
    assert not stray.exists()
    on_disk = {p.relative_to(manifest.parent).as_posix() for p in (manifest.parent / "audio").rglob("*.wav")}
    assert on_disk == {r["path"] for r in rows}


def test_offline_noise_bank_falls_back_to_synthetic_silence(tmp_path, monkeypatch):
    _engine_or_skip("flite")
    from training.corpora import noise

    def offline(cache_dir, progress=True):
        raise DataError("no network")

    monkeypatch.setattr(noise, "fetch_noise_recordings", offline)
    with pytest.warns(UserWarning, match="synthetic noise only"):
        manifest = _make(tmp_path, tmp_path / "cache", ["flite"])
    silence = [r for r in read_manifest(manifest) if r["label"] == "silence"]
    assert silence and {r["engine"] for r in silence} <= {"colored-noise", "digital-silence"}


# --- manifest I/O ------------------------------------------------------------------------------

def test_manifest_round_trip_and_atomic_write(tmp_path):
    rows = [{"path": "a.wav", "label": "yes", "split": "train", "x": 1.5}, {"path": "b.wav", "label": "no",
                                                                             "split": "test", "x": None}]
    path = write_manifest(tmp_path / "m" / "manifest.jsonl", rows)
    assert read_manifest(path) == rows
    assert os.listdir(path.parent) == ["manifest.jsonl"]  # no temp file left behind
    assert path.read_text().splitlines()[0] == '{"label": "yes", "path": "a.wav", "split": "train", "x": 1.5}'
    with pytest.raises(DataError, match="row 0 cannot be written"):
        write_manifest(path, [{"path": "a", "x": float("nan")}])
    assert read_manifest(path) == rows  # a failed write leaves the old manifest


@pytest.mark.parametrize("line, message", [
    ('{"path": "a.wav", "label": "yes"', "line 2 is not valid JSON"),
    ('["a.wav"]', "line 2 is not a JSON object"),
    ('{"path": "a.wav", "label": "yes"}', r"line 2 lacks required keys \['split'\]"),
    ('{"path": "a.wav", "label": "yes", "split": "dev"}', "line 2 has an unknown split"),
    ('{"path": 3, "label": "yes", "split": "train"}', "line 2 has an invalid path"),
])
def test_read_manifest_errors_name_the_line(tmp_path, line, message):
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"path": "ok.wav", "label": "no", "split": "train"}\n' + line + "\n")
    with pytest.raises(DataError, match=message):
        read_manifest(path)
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path / "missing.jsonl")
