import json

import numpy as np
import pytest

from export import cli, parity, tflite
from export.saved_model import export_saved_model
from zoo.errors import ExportError
from tests.export.conftest import DSCNN, make_task


def _perturbed(task):
    bad = make_task(task.name)
    bad.set_weights(task.get_weights())
    kernel = bad.head.kernel
    kernel.assign(kernel.numpy() * np.random.default_rng(0).normal(1.0, 0.5, kernel.shape))
    return bad


def test_saved_model_gate_passes_and_fails_on_corruption(dscnn_task, tmp_path):
    probes = parity.probe_waveforms(dscnn_task)
    good = export_saved_model(dscnn_task, tmp_path / "good")
    assert parity.keras_vs_saved_model(dscnn_task, good, probes).passed
    bad = export_saved_model(_perturbed(dscnn_task), tmp_path / "bad")
    result = parity.keras_vs_saved_model(dscnn_task, bad, probes)
    assert not result.passed and result.value > 1e-3
    with pytest.raises(ExportError, match="keras_vs_saved_model: FAIL"):
        parity.enforce([result])


def test_stream_gate(crnn_task):
    assert parity.stream_vs_whole(crnn_task, parity.probe_waveforms(crnn_task, n=3)).passed


def test_accuracy_gate(dscnn_task, tiny_manifest):
    waves, labels = parity.split_clips(dscnn_task, tiny_manifest, "test")
    assert waves.shape == (len(labels), 16000) and len(labels) > 0
    content = tflite.convert(dscnn_task, "float32")
    ok = parity.quantized_accuracy(dscnn_task, content, waves, labels, "float32")
    assert ok.passed and ok.value == 0.0
    bad = tflite.convert(_perturbed(dscnn_task), "float32")
    # Judge the corrupted model against labels the good model gets right.
    preds = dscnn_task(waves).numpy().argmax(1)
    result = parity.quantized_accuracy(dscnn_task, bad, waves, preds, "int8")
    assert result.detail["keras_accuracy"] == 1.0
    assert result.passed == (result.value <= 0.01)


def test_export_command_writes_gated_artifacts(dscnn_task, tmp_path):
    weights = tmp_path / "w.weights.h5"
    dscnn_task.save_weights(str(weights))
    out = tmp_path / "out"
    assert cli.export_command(DSCNN, "saved_model", "float32", False, out, weights=str(weights)) == 0
    version = out / DSCNN / "1"
    report = json.loads((version / "parity.json").read_text())
    assert report["passed"] and {g["gate"] for g in report["gates"]} == {"keras_vs_saved_model", "opcheck_core_ops"}
    meta = json.loads((version / "metadata.json").read_text())
    assert "parity.json" in meta["files"] and meta["preset"] == DSCNN
    assert not (out / ".staging").exists()
    with pytest.raises(ExportError, match="float32"):
        cli.export_command(DSCNN, "saved_model", "int8", False, out, weights=str(weights))
    with pytest.raises(ExportError, match="--unroll applies to TFLite"):
        cli.export_command(DSCNN, "saved_model", "float32", False, out, weights=str(weights), unroll=True)


def test_export_command_refuses_failing_artifact(dscnn_task, tmp_path, monkeypatch):
    weights = tmp_path / "w.weights.h5"
    dscnn_task.save_weights(str(weights))
    real = tflite.convert
    monkeypatch.setattr(tflite, "convert", lambda task, *a, **k: real(_perturbed(task), *a, **k))
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="parity gate"):
        cli.export_command(DSCNN, "tflite", "float32", False, out, weights=str(weights))
    assert not list(out.glob("*.tflite"))
    rejected = json.loads((out / "rejected" / f"{DSCNN}_float32" / "parity.json").read_text())
    assert not rejected["passed"]
    monkeypatch.setattr(tflite, "convert", real)
    assert cli.export_command(DSCNN, "tflite", "float32", False, out, weights=str(weights)) == 0
    assert (out / f"{DSCNN}_float32.tflite").exists() and (out / f"{DSCNN}_float32.parity.md").exists()
    assert np.isclose(json.loads((out / f"{DSCNN}_float32.json").read_text())["memory"]["file_bytes"],
                      (out / f"{DSCNN}_float32.tflite").stat().st_size)
