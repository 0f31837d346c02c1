"""Every KWS preset: SavedModel + opcheck, TFLite float32 and int8 (builtins only), streaming.
Slow (one int8 and one float conversion per preset): `pytest -m slow tests/export`."""

import numpy as np
import pytest

from export import parity, tflite
from export.opcheck import check_saved_model
from export.saved_model import export_saved_model
from tests.export.conftest import make_task
from zoo.presets import list_presets

KWS = [p.name for p in list_presets(task="recognition") if p.data.get("protocol", "").startswith("kws")]


@pytest.mark.slow
@pytest.mark.parametrize("name", KWS)
def test_preset_exports(name, tmp_path):
    task = make_task(name)
    probes = parity.probe_waveforms(task)
    path = export_saved_model(task, tmp_path, streaming=True)
    assert check_saved_model(path).ok
    assert parity.keras_vs_saved_model(task, path, probes).passed
    assert parity.saved_model_stream_vs_whole(task, path, probes).passed
    f32 = tflite.convert(task, "float32")
    assert parity.keras_vs_tflite(task, f32, probes).passed
    int8 = tflite.convert(task, "int8", representative=parity.probe_waveforms(task, n=16, seed=1))
    for content in (f32, int8):
        assert not [op for op in tflite.model_ops(content) if op.startswith("Flex")]
        tflite.Runner(content).scores(probes[:1])  # loads and runs in ai-edge-litert (XNNPACK or reference)
    scores = tflite.Runner(int8).scores(probes)  # random weights: accuracy is judged on trained ones
    assert np.all(np.isfinite(scores)) and np.allclose(scores.sum(1), 1.0, atol=0.02)
