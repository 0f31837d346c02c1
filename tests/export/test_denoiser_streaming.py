"""Streaming DTLN as TFLite: builtins only, float32 parity with the whole-utterance Keras model."""

import keras
import numpy as np
import pytest

from export.denoiser_streaming import DTLNStreamer, TFLiteStreamRunner, convert_stream_tflite
from zoo.errors import ExportError
from zoo.families.separation.dtln.dtln_backbone import DTLNBackbone
from zoo.tasks.separation import SourceSeparator


@pytest.fixture(scope="module")
def task():
    keras.utils.set_random_seed(0)
    return SourceSeparator(DTLNBackbone(frame_length=32, frame_step=8, lstm_units=8, num_layers=2, encoder_size=16),
                           sample_rate=16000, name="tiny_dtln")


def test_state_spec_names(task):
    spec = DTLNStreamer(task).state_spec()
    assert spec["state_frame"] == 24 and spec["state_ola"] == 24
    assert sorted(k for k in spec if "lstm" in k) == sorted(
        f"state_stage{s}_lstm{i}_{g}" for s in (1, 2) for i in (0, 1) for g in "hc")


@pytest.mark.slow  # two converter subprocesses: ~40 s on an idle 2-core machine
def test_tflite_stream_float32_and_dynamic(task, tmp_path):
    streamer = DTLNStreamer(task)
    x = np.random.default_rng(1).normal(size=300).astype(np.float32) * 0.1
    whole = np.asarray(task({"mixture": x[None], "mixture_length": np.array([300], np.int32)})["sources"])[0, 0]
    d = streamer.delay_samples
    for precision, tol in (("float32", 1e-4), ("dynamic", 0.05)):
        path = convert_stream_tflite(task, tmp_path / f"s_{precision}.tflite", precision)
        timings, invokes = [], []
        out = TFLiteStreamRunner(path.read_bytes()).run(x, streamer, timings=timings, invoke_timings=invokes)
        assert len(timings) == len(invokes) == out.size // streamer.hop_samples
        assert all(0 < i <= t for i, t in zip(invokes, timings))
        np.testing.assert_allclose(out[d:d + x.size], whole, atol=tol * max(1.0, np.abs(whole).max()))


def test_non_dtln_backbone_is_refused():
    from zoo.families.separation.conv_tasnet.conv_tasnet_backbone import ConvTasNetBackbone

    tasnet = SourceSeparator(ConvTasNetBackbone(num_blocks=1, num_repeats=1, encoder_filters=8, bottleneck_channels=4,
                                                hidden_channels=8, skip_channels=4), sample_rate=8000)
    with pytest.raises(ExportError, match="DTLN backbone"):
        DTLNStreamer(tasnet)
