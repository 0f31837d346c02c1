"""TFLite export of a neural vocoder (log-mel f32[1, N, 80] -> waveform f32[1, N * HOP]) behind its
parity gate. export.tflite.convert is written for Tasks with waveform input; a vocoder is a plain
Keras model, so its SavedModel is written here and handed to the same converter worker
(export.tflite.run_converter_job: a converter crash becomes an ExportError)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from zoo.errors import ExportError
from zoo.families.synthesis.synthesis_protocol import HOP, TTS_MEL

TFLITE_FRAMES = 200  # fixed frame count of the exported .tflite (2.5 s)


def convert_vocoder(generator, num_frames: int = TFLITE_FRAMES, timeout_s: float = 600.0) -> bytes:
    """float32 .tflite of `generator`: signature "serve", input "mel" f32[1, num_frames, 80], output
    "waveform" f32[1, num_frames * HOP], builtin ops only."""
    import keras
    import tensorflow as tf

    from export.tflite import SIGNATURE, model_ops, run_converter_job

    with tempfile.TemporaryDirectory(prefix="zoo-vocoder-tflite-") as tmp:
        job = Path(tmp)
        archive = keras.export.ExportArchive()
        # not archive.track(): endpoints save the variables they read, once (export/saved_model.py)
        archive.add_endpoint(SIGNATURE, lambda mel: {"waveform": generator(mel, training=False)},
                             input_signature=[tf.TensorSpec([1, num_frames, generator.num_mel_bins], tf.float32,
                                                            name="mel")])
        archive.write_out(str(job / "saved_model"), verbose=False)
        (job / "job.json").write_text(json.dumps({"precision": "float32", "allow_select_tf_ops": False,
                                                  "frontend_scope": "", "input_names": ["mel"]}))
        content = run_converter_job(job, "the vocoder to float32", timeout_s,
                                    fix="check the generator for ops without a TFLite builtin")
    flex = sorted({op for op in model_ops(content) if op.startswith("Flex")})
    if flex:
        raise ExportError("the vocoder TFLite model needs Select-TF ops", received=flex, expected="builtin ops only")
    return content


def probe_mel(num_frames: int = TFLITE_FRAMES, seed: int = 0) -> np.ndarray:
    """A fixed speech-like log-mel [num_frames, 80] for the parity gate: a harmonic tone with a moving
    pitch and an amplitude envelope, plus a little noise, through the TTS_MEL contract."""
    from zoo.families.synthesis.synthesis_protocol import clip_mel

    rng = np.random.default_rng(seed)
    t = np.arange(num_frames * HOP) / TTS_MEL["sample_rate"]
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / TTS_MEL["sample_rate"]
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.2 + 0.15 * np.sin(2 * np.pi * 2.3 * t) ** 2)
    x = x + 0.005 * rng.standard_normal(t.size)
    return clip_mel(x[None].astype(np.float32)).numpy()[0]


def keras_vs_tflite_vocoder(generator, content: bytes, mel):
    """Keras vs TFLite float32 on one mel [N, 80] (max |diff| <= 1e-4): an export.parity GateResult."""
    from export.parity import TOL_TFLITE, _max_diff
    from export.tflite import Runner

    mel = np.asarray(mel, np.float32)[None]
    out = Runner(content)(mel=mel)["waveform"]
    return _max_diff("keras_vs_tflite_float32", np.asarray(generator(mel, training=False)), out,
                     TOL_TFLITE["float32"], frames=int(mel.shape[1]))
