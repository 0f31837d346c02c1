"""`zoo predict TTS_PRESET --text "..." --out FILE.wav` synthesizes in-process and writes a 16-bit WAV
equal to predict_text; misuse (no --text, audio files, --text on a recognizer) exits 2 with one line."""

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

PRESET = "tts_fastspeech_slt"


def zoo(*args, home):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", ZOO_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, timeout=300)


def test_predict_text_writes_the_synthesized_wav(tmp_path):
    import keras

    from zoo.presets import build_task, get_preset

    keras.utils.set_random_seed(0)
    task = build_task(get_preset(PRESET))  # random weights: the CLI must reproduce predict_text exactly
    task.backbone.duration_out.bias.assign([np.log1p(4.0)])
    weights = tmp_path / "model.weights.h5"
    task.save_weights(weights)
    out_wav = tmp_path / "speech" / "timer.wav"
    text = "set a timer for five minutes"
    run = zoo("predict", PRESET, "--text", text, "--out", str(out_wav), "--weights", str(weights), home=tmp_path)
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout.strip().splitlines()[-1])
    assert row["file"] == str(out_wav) and row["text"] == text and row["sample_rate"] == 16000
    audio, rate = sf.read(out_wav, dtype="float32")
    assert sf.info(out_wav).subtype == "PCM_16" and rate == 16000
    expected = task.predict_text(text)["waveform"]
    assert audio.shape == expected.shape and abs(row["seconds"] - expected.size / 16000) < 1e-3
    np.testing.assert_allclose(audio, np.clip(expected, -1, 1), atol=1.5 / 32768)


def test_predict_misuse_exits_2_with_one_line(tmp_path):
    no_text = zoo("predict", PRESET, home=tmp_path)
    assert no_text.returncode == 2 and "pass --text" in no_text.stderr
    files = zoo("predict", PRESET, "a.wav", "--text", "hi", home=tmp_path)
    assert files.returncode == 2 and "not files" in files.stderr
    wrong = zoo("predict", "kws_dscnn_small_synth", "--text", "hi", home=tmp_path)
    assert wrong.returncode == 2 and "needs a synthesis preset" in wrong.stderr


def test_list_shows_the_intelligibility_ratio(tmp_path):
    from zoo.presets import read_hub_index

    ratio = read_hub_index()[PRESET]["metrics"]["intelligibility"]["pocketsphinx_wer_ratio"]
    out = zoo("list", "--task", "synthesis", home=tmp_path)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith(PRESET))
    assert f"WER x{ratio:.2f} of reference" in row
