"""Convert one small model per frontend to TFLite (float32, builtins only) and compare with Keras.

Run by test_tflite.py in a subprocess (the converter can crash its process):
    python tests/frontends/tflite_parity.py OUT.json
Writes, per case: max_abs (Keras vs ai_edge_litert with its default XNNPACK delegate),
max_abs_reference (same, reference kernels), keras_max (max |Keras output|), ops (builtin op
names of the converted model), or error.
"""

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

from zoo.frontends import (MFCC, PCEN, STFT, ConstantQ, InverseSTFT, LearnableFilterbank,  # noqa: E402
                           LogMelSpectrogram, SincConv, SpecAugment)

T = 8000
SR = 16000


def waveform():
    t = np.arange(T) / SR
    rng = np.random.default_rng(0)
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t) \
        + 0.05 * rng.standard_normal(T)
    return y[None].astype(np.float32)


def cases():
    """name -> (model, input array, run shape or None)."""
    wave = waveform()
    out = {}

    def wave_model(layer, time=T):
        inp = keras.Input((time,), batch_size=1, name="waveform")
        return keras.Model(inp, layer(inp))

    out["STFT"] = (wave_model(STFT(400, 160, 512)), wave, None)  # RFFT2D
    out["STFT_complex_matmul"] = (wave_model(STFT(400, 160, 400, output="complex")), wave, None)
    spec = STFT(400, 160, 400, output="complex")(wave).numpy()
    inp = keras.Input(spec.shape[1:], batch_size=1, name="spectrogram")
    out["InverseSTFT"] = (keras.Model(inp, InverseSTFT(400, 160, 400)(inp)), spec, None)
    logmel = dict(sample_rate=SR, frame_length=480, frame_step=320, fft_length=512,
                  num_mel_bins=40, fmin=20.0, fmax=7600.0)
    out["LogMelSpectrogram"] = (wave_model(LogMelSpectrogram(**logmel)), wave, None)
    out["LogMelSpectrogram_dynamic_time"] = (wave_model(LogMelSpectrogram(**logmel), time=None),
                                             wave, [1, T])
    out["MFCC"] = (wave_model(MFCC(**logmel, num_coefficients=13)), wave, None)
    out["ConstantQ"] = (wave_model(ConstantQ(SR, 256, 65.41, num_bins=60)), wave, None)
    energies = LogMelSpectrogram(**logmel).mel_energies(wave).numpy()
    inp = keras.Input(energies.shape[1:], batch_size=1, name="energies")
    out["PCEN"] = (keras.Model(inp, PCEN()(inp)), energies, None)
    out["SincConv"] = (wave_model(SincConv(32, 129, SR, stride=160)), wave, None)
    out["LearnableFilterbank"] = (wave_model(LearnableFilterbank(40, 401, 160)), wave, None)
    feats = LogMelSpectrogram(**logmel)(wave).numpy()
    inp = keras.Input(feats.shape[1:], batch_size=1, name="features")
    out["SpecAugment"] = (keras.Model(inp, SpecAugment(5, 5, seed=0)(inp)), feats, None)
    return out


def run(content, x, shape, resolver):
    interp = Interpreter(model_content=content, experimental_op_resolver_type=resolver)
    if shape is not None:
        interp.resize_tensor_input(interp.get_input_details()[0]["index"], shape)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    y = interp.get_tensor(interp.get_output_details()[0]["index"])
    return y, interp


def check(model, x, shape):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    content = converter.convert()
    ref = model(x).numpy()
    y, _ = run(content, x, shape, OpResolverType.AUTO)
    y_ref, interp = run(content, x, shape, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = sorted({d["op_name"] for d in interp._get_ops_details()})
    return {
        "max_abs": float(np.abs(y - ref).max()),
        "max_abs_reference": float(np.abs(y_ref - ref).max()),
        "keras_max": float(np.abs(ref).max()),
        "shape_ok": list(y.shape) == list(ref.shape),
        "ops": ops,
        "bytes": len(content),
    }


def main(path):
    results = {}
    for name, (model, x, shape) in cases().items():
        try:
            results[name] = check(model, x, shape)
        except Exception:  # report every case, fail in the test
            results[name] = {"error": traceback.format_exc()[-3000:]}
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
