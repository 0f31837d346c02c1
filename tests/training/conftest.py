"""Shared fixtures of the corpus tests."""

import json

import numpy as np
import pytest

from zoo.audio import write_audio

SPEAKERS = {"train": ["v0", "v1", "v2"], "validation": ["v3", "v4"], "test": ["v5", "v6"]}


@pytest.fixture
def speech_speakers():
    """The voices of `speech_manifest`, by split."""
    return SPEAKERS


@pytest.fixture(scope="module")
def speech_manifest(tmp_path_factory):
    """A speech-commands-synth style corpus: 1 s clips with one harmonic 'word' each, and silence rows."""
    folder = tmp_path_factory.mktemp("speech")
    rows = []
    for split, voices in SPEAKERS.items():
        for v, voice in enumerate(voices):
            f0 = 90.0 + 35.0 * int(voice[1:])
            for w in range(4):
                rng = np.random.default_rng([int(voice[1:]), w])
                n, offset = int(rng.integers(3000, 6000)), int(rng.integers(500, 8000))
                t = np.arange(n) / 16000
                word = np.hanning(n) * sum(np.sin(2 * np.pi * k * f0 * (1 + 0.05 * w) * t) / k for k in range(1, 6))
                clip = np.zeros(16000, np.float32)
                clip[offset : offset + n] = 0.3 * word
                rel = f"audio/w{w}/{voice}.wav"
                write_audio(folder / rel, clip, 16000)
                rows.append({"path": rel, "label": f"w{w}", "split": split, "speaker": voice, "engine": "espeak-ng",
                             "offset": offset, "word_samples": n})
        write_audio(folder / f"audio/silence/{split}.wav", np.full(16000, 1e-3, np.float32), 16000)
        rows.append({"path": f"audio/silence/{split}.wav", "label": "silence", "split": split,
                     "speaker": f"colored-noise:{split}", "engine": "colored-noise"})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "manifest.jsonl"
