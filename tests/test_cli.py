"""The `zoo` command end to end in subprocesses: listing, model cards, and bad audio that must get one
clear error line (never a traceback) from `zoo predict`."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

PRESET = "kws_dscnn_small_synth"


def zoo(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def test_list_and_info():
    out = zoo("list", "--task", "recognition")
    assert out.returncode == 0, out.stderr
    assert PRESET in out.stdout and "kws_tcresnet8_synth" in out.stdout
    info = zoo("info", PRESET, "--json")
    card = json.loads(info.stdout)
    assert card["name"] == PRESET and card["sample_rate"] == 16000 and len(card["task_config"]["labels"]) == 12


def test_unknown_preset_is_one_line_not_a_traceback():
    out = zoo("info", "kws_nope")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "unknown preset 'kws_nope'" in out.stderr


def _wav_header(channels, rate, bits, data_bytes, fmt=1):
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, fmt, channels, rate, rate * block, block, bits) +
            b"data" + struct.pack("<I", data_bytes))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    t = np.arange(16000) / 16000
    good = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(d / "good.wav", good, 16000, subtype="PCM_16")
    sf.write(d / "good.flac", good, 16000)
    sf.write(d / "empty.wav", np.zeros(0, np.float32), 16000, subtype="PCM_16")
    nan = good.copy()
    nan[100] = np.nan
    sf.write(d / "nan_float.wav", nan, 16000, subtype="FLOAT")
    sf.write(d / "eight_bit.wav", good, 16000, subtype="PCM_U8")
    sf.write(d / "float.wav", good, 16000, subtype="FLOAT")
    (d / "zero_channels.wav").write_bytes(_wav_header(0, 16000, 16, 0))
    (d / "truncated.wav").write_bytes(_wav_header(1, 16000, 16, 32000)[:30])
    three_hours = 3 * 3600 * 16000 * 2
    (d / "three_hours.wav").write_bytes(_wav_header(1, 16000, 16, three_hours) + b"\0" * 1000)
    (d / "not_audio.wav").write_text("hello")
    return d


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from zoo.presets import build_task, get_preset

    path = tmp_path_factory.mktemp("w") / "model.weights.h5"
    build_task(get_preset(PRESET)).save_weights(path)
    return path


def test_predict_good_files_prints_one_json_object_per_file(files, weights):
    out = zoo("predict", PRESET, str(files / "good.wav"), str(files / "good.flac"), "--json", "--weights", str(weights))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(files / "good.wav"), str(files / "good.flac")]
    for r in rows:
        assert set(r) == {"file", "label", "score"} and 0 <= r["score"] <= 1


BAD_FILES = [
    ("empty.wav", "empty"),
    ("nan_float.wav", "16-bit"),
    ("eight_bit.wav", "PCM_U8"),
    ("float.wav", "FLOAT"),
    ("zero_channels.wav", "channel"),
    ("truncated.wav", "truncated"),
    ("three_hours.wav", "600"),
    ("not_audio.wav", "not_audio.wav"),
    ("missing.wav", "missing.wav"),
]


@pytest.fixture(scope="module")
def bad_run(files, weights):
    """One `zoo predict` over every bad file, each followed by a good one (one TF start-up, not nine)."""
    paths = []
    for name, _ in BAD_FILES:
        paths += [str(files / name), str(files / "good.wav")]
    out = zoo("predict", PRESET, *paths, "--json", "--weights", str(weights))
    return out, [json.loads(line) for line in out.stdout.splitlines()]


def test_bad_audio_run_fails_without_traceback(bad_run):
    out, lines = bad_run
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert len(lines) == 2 * len(BAD_FILES)
    assert out.stderr.count("error: ") == len(BAD_FILES)


@pytest.mark.parametrize("position, name, needle", [(i, n, k) for i, (n, k) in enumerate(BAD_FILES)])
def test_bad_audio_gets_a_clear_error(bad_run, files, position, name, needle):
    _, lines = bad_run
    bad, good = lines[2 * position], lines[2 * position + 1]
    assert bad["file"] == str(files / name) and "label" not in bad
    assert needle.lower() in bad["error"].lower(), bad["error"]
    assert "expected" in bad["error"]
    assert good["label"] and good["file"] == str(files / "good.wav")  # the next file is still classified
