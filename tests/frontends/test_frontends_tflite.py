"""Every frontend converts to TFLite with builtin ops only and matches Keras within 1e-4.

One subprocess (tflite_parity.py) converts all models: the converter can crash its process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("tflite_parity.py")
EXPECTED = {"STFT", "STFT_complex_matmul", "InverseSTFT", "LogMelSpectrogram",
            "LogMelSpectrogram_dynamic_time", "MFCC", "ConstantQ", "PCEN", "SincConv",
            "LearnableFilterbank", "SpecAugment"}


@pytest.fixture(scope="module")
def results(tmp_path_factory, pytestconfig):
    out = tmp_path_factory.mktemp("tflite") / "results.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    root = str(pytestconfig.rootpath)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_all_frontends_convert(results):
    assert set(results) == EXPECTED
    errors = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not errors, errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parity_and_builtin_ops(results, name):
    r = results[name]
    assert "error" not in r, r.get("error")
    assert r["shape_ok"]
    # DESIGN.md 4.10: Keras vs TFLite float <= 1e-4 (default interpreter, XNNPACK delegate).
    assert r["max_abs"] <= 1e-4, r
    # Reference kernels sum in another order; InverseSTFT's edges divide by window sums ~1e-8.
    assert r["max_abs_reference"] <= 5e-4, r
    assert not [op for op in r["ops"] if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]


def test_dft_paths_and_no_op_augment(results):
    assert "RFFT2D" in results["STFT"]["ops"]  # power-of-two FFT uses the builtin RFFT
    assert "RFFT2D" not in results["STFT_complex_matmul"]["ops"]
    assert "FULLY_CONNECTED" in results["STFT_complex_matmul"]["ops"]
    assert "FULLY_CONNECTED" in results["MFCC"]["ops"]  # the DCT is a constant matmul
    assert results["SpecAugment"]["ops"] == []  # identity at inference
