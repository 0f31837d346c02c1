"""training.corpora.noise: package scan/split/manifest on fake .deb files (no network), colored noise."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from training.corpora import noise
from training.corpora.noise import (
    PACKAGES,
    colored_noise,
    fetch_noise_recordings,
    license_for,
    load_noise_bank,
    parse_copyright,
    split_for,
    variant_group,
)
from zoo.errors import ConfigError, DataError

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian/Ubuntu)")

FREEDESKTOP_COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: sound-theme-freedesktop

Files: stereo/bell.oga stereo/complete.oga
Copyright: Dr. Richard Boulanger et al
License: CC-BY-3.0

Files: stereo/audio-channel-front-left.oga
Copyright: The ALSA developers
License: GPL-2+

Files: debian/*
Copyright: 2012 Someone
License: GPL-2+

License: GPL-2+
 This program is free software.
"""

SCRATCH_COPYRIGHT = """\
Format: http://dep.debian.net/deps/dep5/
Upstream-Name: scratch

Files: *
Copyright: Copyright (c) 2011 Massachusetts Institute of Technology
License: GPL-2

Files: Help/* Media/* Projects
Copyright: Copyright (c) 2011 Massachusetts Institute of Technology
License: CC-BY-SA-3.0
"""


def _noise_clip(seconds, sr, seed, channels=1, level=0.3):
    rng = np.random.default_rng(seed)
    x = level * rng.uniform(-1, 1, size=(int(seconds * sr), channels)).astype(np.float32)
    return x[:, 0] if channels == 1 else x


def _make_deb(tmp_path, package, files, copyright_text):
    """Build a real .deb with dpkg-deb, holding `files` {relative path: (array, sr)}."""
    src = tmp_path / f"src-{package}"
    (src / "DEBIAN").mkdir(parents=True)
    (src / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 9.9-1\nArchitecture: all\nMaintainer: Test <t@example.org>\n"
        "Description: fake package for tests\n")
    doc = src / "usr/share/doc" / package
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text)
    for rel, content in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            data, sr = content
            fmt = {".oga": "OGG", ".ogg": "OGG"}.get(path.suffix)
            sf.write(str(path), data, sr, format=fmt)
    deb = tmp_path / "debs" / f"{package}_9.9-1_all.deb"
    deb.parent.mkdir(exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", "-Znone", str(src), str(deb)],
                   check=True, capture_output=True)
    return deb


@pytest.fixture
def fake_debs(tmp_path):
    fd = "usr/share/sounds/freedesktop/stereo"
    sc = "usr/share/scratch/Media/Sounds"
    debs = {
        "sound-theme-freedesktop": _make_deb(tmp_path, "sound-theme-freedesktop", {
            f"{fd}/bell.oga": (_noise_clip(1.0, 44100, 1, channels=2), 44100),
            f"{fd}/audio-channel-front-left.oga": (_noise_clip(1.0, 44100, 2), 44100),  # speech: excluded
            f"{fd}/complete.oga": (np.zeros(48000, dtype=np.float32), 48000),  # silent: dropped
            f"{fd}/message.oga": (_noise_clip(0.8, 48000, 5), 48000),  # not in copyright: dropped
        }, FREEDESKTOP_COPYRIGHT),
        "scratch": _make_deb(tmp_path, "scratch", {
            f"{sc}/Animal/Dog1.wav": (_noise_clip(1.2, 22050, 3), 22050),
            f"{sc}/Animal/Dog2.wav": (_noise_clip(0.9, 22050, 4, level=0.01), 22050),
            f"{sc}/Effects/Dog1.wav": (_noise_clip(0.7, 16000, 6), 16000),  # stem collision
            f"{sc}/Effects/Pop.flac": (_noise_clip(0.3, 16000, 7), 16000),  # too short: dropped
            f"{sc}/Effects/Ripples.flac": (np.concatenate([np.zeros(16000, np.float32),
                                                           _noise_clip(0.6, 16000, 8)]), 16000),
            f"{sc}/Vocals/Singer1.wav": (_noise_clip(1.0, 16000, 9), 16000),  # vocals: excluded
            f"{sc}/readme.txt": "not audio",
        }, SCRATCH_COPYRIGHT),
    }
    return debs


@pytest.fixture
def fake_apt(monkeypatch, fake_debs):
    calls = []

    def download(package, folder):
        calls.append(package)
        return Path(shutil.copy(fake_debs[package], folder))

    monkeypatch.setattr(noise, "_apt_has", lambda package: package in fake_debs)
    monkeypatch.setattr(noise, "_apt_download", download)
    return calls


def _records(manifest):
    return [json.loads(line) for line in manifest.read_text().splitlines()]


@needs_dpkg
def test_fetch_from_fake_packages(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning) as caught:
        manifest = fetch_noise_recordings(cache, progress=False)
    messages = " ".join(str(w.message) for w in caught)
    assert "minetest-data is not known to apt" in messages  # missing packages are skipped
    assert "silent" in messages and "shorter than 0.5 s" in messages
    assert manifest == cache / "noise" / "manifest.jsonl"
    assert sorted(fake_apt) == ["scratch", "sound-theme-freedesktop"]
    records = {r["path"]: r for r in _records(manifest)}
    assert sorted(records) == ["scratch/Animal-Dog1.wav", "scratch/Dog2.wav", "scratch/Effects-Dog1.wav",
                               "scratch/Ripples.wav", "sound-theme-freedesktop/bell.wav"]
    for rel, r in records.items():
        assert set(r) == {"path", "package", "license", "duration", "sample_rate", "split", "metadata"}
        info = sf.info(str(cache / "noise" / rel))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert r["duration"] == pytest.approx(info.frames / 16000, abs=1e-3)
        assert r["split"] == split_for(r["package"], rel.split("/")[1][:-4])
        assert r["metadata"]["package_version"] == "9.9-1"
        copyright_file = cache / "noise" / r["metadata"]["copyright_file"]
        assert copyright_file.read_text().startswith("Format:")
        peak = np.max(np.abs(sf.read(str(cache / "noise" / rel))[0]))
        assert 20 * np.log10(peak) == pytest.approx(-1.0, abs=0.05)  # peak-normalised
    bell = records["sound-theme-freedesktop/bell.wav"]
    assert bell["license"] == "CC-BY-3.0" and bell["metadata"]["copyright"] == "Dr. Richard Boulanger et al"
    assert bell["metadata"]["source"] == "usr/share/sounds/freedesktop/stereo/bell.oga"
    assert records["scratch/Dog2.wav"]["license"] == "CC-BY-SA-3.0"
    # leading silence is trimmed before the length check
    assert records["scratch/Ripples.wav"]["duration"] == pytest.approx(0.6, abs=0.01)
    # variants of one recording share a split
    assert records["scratch/Dog2.wav"]["split"] == split_for("scratch", "Dog1")
    assert not list((cache).glob(".noise-download-*"))  # temp folder cleaned up


@needs_dpkg
def test_fetch_is_cached_and_rebuilds_incomplete(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning):
        manifest = fetch_noise_recordings(cache, progress=False)
    first = manifest.read_text()
    calls = len(fake_apt)
    start = time.perf_counter()
    assert fetch_noise_recordings(cache, progress=False) == manifest
    assert time.perf_counter() - start < 0.5 and len(fake_apt) == calls  # no download the second time
    # a missing clip makes the manifest incomplete: the bank is rebuilt identically
    (cache / "noise" / _records(manifest)[0]["path"]).unlink()
    with pytest.warns(UserWarning):
        fetch_noise_recordings(cache, progress=False)
    assert len(fake_apt) > calls and manifest.read_text() == first


@needs_dpkg
def test_caps_are_deterministic_and_stale_clips_removed(tmp_path, fake_debs):
    roots = {}
    for package, deb in fake_debs.items():
        roots[package] = tmp_path / "unpacked" / package
        roots[package].mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(roots[package])], check=True)
    out = tmp_path / "bank"
    with pytest.warns(UserWarning):
        full = _records(noise.build_noise_bank(roots, out, progress=False))
    with pytest.warns(UserWarning):
        capped = _records(noise.build_noise_bank(roots, out, progress=False, max_files=2))
    assert capped == full[:2]  # selection order is fixed; round robin over packages
    assert {r["package"] for r in capped} == {"scratch", "sound-theme-freedesktop"}
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.wav")) == sorted(r["path"] for r in capped)
    with pytest.warns(UserWarning):
        short = _records(noise.build_noise_bank(roots, out, progress=False, max_seconds=1.5))
    assert sum(r["duration"] for r in short) <= 1.5 + 1e-6


@needs_dpkg
def test_load_noise_bank(tmp_path, fake_apt):
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning):
        manifest = fetch_noise_recordings(cache, progress=False)
    records = _records(manifest)
    for split in noise.SPLITS:
        clips = load_noise_bank(cache, split)
        expected = [r for r in records if r["split"] == split]
        assert len(clips) == len(expected)
        for clip, r in zip(clips, expected):
            assert clip.dtype == np.float32 and clip.ndim == 1
            assert len(clip) == round(r["duration"] * 16000)
    everything = sum(len(load_noise_bank(cache, s)) for s in noise.SPLITS)
    assert everything == len(records)
    train = [r for r in records if r["split"] == "train"]
    if train:
        at_8k = load_noise_bank(cache, "train", sample_rate=8000, max_files=1)
        assert len(at_8k) == 1 and len(at_8k[0]) == pytest.approx(train[0]["duration"] * 8000, abs=1)
    with pytest.raises(ConfigError, match="'dev'"):
        load_noise_bank(cache, "dev")
    with pytest.raises(DataError, match="missing"):
        load_noise_bank(tmp_path / "empty", "train")


def test_failed_download_raises_data_error(tmp_path):
    # Offline or not, apt cannot fetch a package that does not exist; without apt the error is the same kind.
    with pytest.raises(DataError, match="zoo-no-such-package") as err:
        noise._apt_download("zoo-no-such-package", tmp_path)
    assert "colored_noise" in str(err.value)


def test_no_known_packages_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(noise, "_apt_has", lambda package: False)
    with pytest.warns(UserWarning), pytest.raises(DataError, match="none of the noise packages"):
        fetch_noise_recordings(tmp_path, progress=False)


def test_copyright_matching():
    text = SCRATCH_COPYRIGHT + """
Files: etc/samples/ambi_choir.flac
Copyright: 2013 Exsomniel
License: CC0

Files: mtg/mods/doors/sounds/*
Copyright: 2014 CGEffex
License: CC-BY-3.0
"""
    paragraphs = parse_copyright(text)
    assert [p["license"] for p in paragraphs] == ["GPL-2", "CC-BY-SA-3.0", "CC0", "CC-BY-3.0"]
    assert paragraphs[1]["files"] == ["Help/*", "Media/*", "Projects"]
    # installed paths differ from source paths in their leading folders
    assert license_for("usr/share/sonic-pi/samples/ambi_choir.flac", paragraphs)["license"] == "CC0"
    assert license_for("usr/share/scratch/Media/Sounds/Animal/Dog1.wav", paragraphs)["license"] == "CC-BY-SA-3.0"
    doors = "usr/share/games/minetest/games/minetest_game/mods/doors/sounds/doors_door_open.ogg"
    assert license_for(doors, paragraphs) == {"license": "CC-BY-3.0", "copyright": "2014 CGEffex"}
    # `sounds/*` of the doors paragraph must not claim another mod's sounds
    other = "usr/share/games/minetest/games/minetest_game/mods/default/sounds/default_dig.1.ogg"
    assert license_for(other, paragraphs)["license"] == "GPL-2"
    assert license_for("x.wav", []) == {"license": "unknown", "copyright": ""}


def test_split_is_deterministic_by_recording():
    assert variant_group("default_dirt_footstep.1") == "default_dirt_footstep"
    assert variant_group("Dog2") == "Dog" and variant_group("Laugh-male3") == "Laugh-male"
    assert variant_group("808") == "808"
    names = [f"clip_{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(600)]
    splits = [split_for("pkg", n) for n in names]
    assert splits == [split_for("pkg", n) for n in names]
    fractions = {s: splits.count(s) / len(splits) for s in noise.SPLITS}
    assert fractions["train"] == pytest.approx(0.70, abs=0.06)
    assert fractions["validation"] == pytest.approx(0.15, abs=0.05)
    assert fractions["test"] == pytest.approx(0.15, abs=0.05)
    assert split_for("pkg", "step.1") == split_for("pkg", "step.2") == split_for("pkg", "step")


def test_package_specs_exclude_speech():
    specs = {p.name: p for p in PACKAGES}
    assert set(specs) == {"sound-theme-freedesktop", "scratch", "qabcs-data", "minetest-data", "sonic-pi-samples"}
    assert "*/Vocals/*" in specs["scratch"].exclude
    assert all("sounds/words" not in g for g in specs["qabcs-data"].include)


@pytest.mark.parametrize("color,beta", [("white", 0.0), ("pink", 1.0), ("brown", 2.0), ("blue", -1.0),
                                        ("violet", -2.0)])
def test_colored_noise_psd_slope(color, beta):
    x = colored_noise(2**17, color, np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (2**17,)
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, abs=1e-4)
    freqs, psd = scipy.signal.welch(x.astype(np.float64), nperseg=4096)
    band = (freqs > 0.002) & (freqs < 0.45)
    slope = np.polyfit(np.log(freqs[band]), np.log(psd[band]), 1)[0]
    assert slope == pytest.approx(-beta, abs=0.15)


def test_colored_noise_determinism_and_errors():
    a = colored_noise(1000, "pink", np.random.default_rng(7))
    np.testing.assert_array_equal(a, colored_noise(1000, "pink", np.random.default_rng(7)))
    assert not np.allclose(a, colored_noise(1000, "pink", np.random.default_rng(8)))
    with pytest.raises(ConfigError, match="'purple'"):
        colored_noise(100, "purple", np.random.default_rng(0))
    with pytest.raises(ConfigError, match="rng"):
        colored_noise(100, "pink", 0)
    with pytest.raises(ConfigError, match="received: 1"):
        colored_noise(1, "pink", np.random.default_rng(0))


@pytest.mark.slow
def test_real_fetch(tmp_path):
    """Downloads about 85 MB of Debian packages."""
    manifest = fetch_noise_recordings(tmp_path, progress=False)
    records = _records(manifest)
    assert 300 <= len(records) <= noise.MAX_FILES
    assert sum(r["duration"] for r in records) <= noise.MAX_TOTAL_SECONDS
    assert {r["split"] for r in records} == set(noise.SPLITS)
    assert len({r["package"] for r in records}) == 5
    assert all(r["license"] != "unknown" for r in records)
    clips = load_noise_bank(tmp_path, "test", max_files=5)
    assert len(clips) == 5 and all(len(c) >= 8000 for c in clips)
