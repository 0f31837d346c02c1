"""Fixtures for the export tests: small KWS tasks with seeded random weights and a tiny manifest of
synthetic 16-bit WAVs (tones per word), so no corpus generation is needed."""

import json

import keras
import numpy as np
import pytest
import soundfile as sf

DSCNN = "kws_dscnn_small_synth"
CRNN = "kws_crnn_small_synth"


def make_task(name, seed=0):
    from zoo.presets import build_task, get_preset

    keras.utils.set_random_seed(seed)
    task = build_task(get_preset(name))
    # Random heads give near-uniform scores; scale the logits so the parity gates see real contrast.
    kernel = task.head.kernel
    kernel.assign(kernel.numpy() * 20.0)
    return task


@pytest.fixture(scope="session")
def dscnn_task():
    return make_task(DSCNN)


@pytest.fixture(scope="session")
def crnn_task():
    return make_task(CRNN)


@pytest.fixture(scope="session")
def tiny_manifest(tmp_path_factory):
    """12-class manifest: 2 train + 2 test clips per word, a tone chirp whose pitch encodes the word."""
    root = tmp_path_factory.mktemp("tiny_corpus")
    words = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "cat", "dog"]
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    rows = []
    for w, word in enumerate(words):
        for split in ("train", "test"):
            for k in range(2):
                f0 = 200 + 150 * w + 20 * k
                y = 0.3 * np.sin(2 * np.pi * f0 * t) * np.exp(-((t - 0.5) ** 2) / 0.05)
                y += 0.01 * rng.standard_normal(t.size)
                path = f"{split}/{word}_{k}.wav"
                (root / split).mkdir(exist_ok=True)
                sf.write(root / path, y.astype(np.float32), 16000, subtype="PCM_16")
                rows.append({"path": path, "label": word, "split": split, "duration": 1.0})
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


@pytest.fixture(scope="session")
def crnn_saved_model(crnn_task, tmp_path_factory):
    from export.saved_model import export_saved_model

    return export_saved_model(crnn_task, tmp_path_factory.mktemp("sm"), streaming=True)
