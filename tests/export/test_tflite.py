"""TFLite conversions (each runs the converter in a subprocess via export.tflite.convert)."""

import subprocess

import numpy as np
import pytest

from export import parity, tflite
from export.streaming import make_streamer
from zoo.errors import ExportError


@pytest.fixture(scope="module")
def dscnn_int8(dscnn_task):
    rep = parity.probe_waveforms(dscnn_task, n=16, seed=3)
    return tflite.convert(dscnn_task, "int8", representative=rep)


def test_float32_parity_and_builtins(dscnn_task):
    content = tflite.convert(dscnn_task, "float32")
    ops = set(tflite.model_ops(content))
    assert "RFFT2D" in ops and not any(op.startswith("Flex") for op in ops)
    gate = parity.keras_vs_tflite(dscnn_task, content, parity.probe_waveforms(dscnn_task))
    assert gate.passed and gate.value <= 1e-4


def test_int8_quantizes_body_and_keeps_frontend_float(dscnn_task, dscnn_int8):
    ops = tflite.op_details(dscnn_int8)
    assert not any(d["op"].startswith("Flex") for d in ops)
    frontend = [d for d in ops if any(f"/{dscnn_task.frontend.name}" in n for n in d["names"])]
    assert {d["op"] for d in frontend} >= {"RFFT2D", "FULLY_CONNECTED", "LOG"}
    assert not {dt for d in frontend for dt in d["inputs"] + d["outputs"]} & {"int8", "uint8", "int16"}
    # 49 frames of a 1 s clip, traced 4 pieces of at most 16 frames (export.tflite.frame_chunking)
    assert [d["outputs"] for d in frontend if d["op"] == "RFFT2D"] == [["complex64"]] * 4
    assert [d["outputs"] for d in frontend if d["op"] == "LOG"] == [["float32"]] * 4
    convs = [d for d in ops if d["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(convs) == 9 and all(d["outputs"] == ["int8"] for d in convs)
    x = parity.probe_waveforms(dscnn_task)
    agree = np.mean(tflite.Runner(dscnn_int8).scores(x).argmax(1) == dscnn_task(x).numpy().argmax(1))
    assert agree >= 0.75
    mem = tflite.memory_report(dscnn_int8)
    assert mem["file_bytes"] == len(dscnn_int8) and 0 < mem["activation_peak"] <= mem["activation_sum"]


def test_int8_dscnn_fits_a_256_kb_microcontroller_budget(dscnn_int8):
    """The preset's architecture (DESIGN.md / export issue): int8 file plus peak activations
    <= 256 KB. Without frame chunking the float frontend's whole-clip frames alone peak at 245 KB."""
    mem = tflite.memory_report(tflite.strip_debug_names(dscnn_int8))
    assert mem["file_bytes"] + mem["activation_peak"] <= 256 * 1024, mem


def test_frame_chunking_lowers_peak_memory_not_the_numbers(dscnn_task, monkeypatch):
    x = parity.probe_waveforms(dscnn_task, n=4, seed=1)
    chunked = tflite.convert(dscnn_task, "float32")
    monkeypatch.setattr(tflite, "FRONTEND_FRAMES_PER_CHUNK", 0)
    whole = tflite.convert(dscnn_task, "float32")
    assert tflite.model_ops(whole).count("RFFT2D") == 1 and tflite.model_ops(chunked).count("RFFT2D") == 4
    assert tflite.memory_report(chunked)["activation_peak"] < 0.6 * tflite.memory_report(whole)["activation_peak"]
    np.testing.assert_allclose(tflite.Runner(chunked).scores(x), tflite.Runner(whole).scores(x), atol=1e-5)
    assert all(layer.frames_per_chunk is None for layer in [dscnn_task.frontend.stft])  # restored after tracing


def test_int8_needs_representative_data(dscnn_task):
    with pytest.raises(ExportError, match="representative"):
        tflite.convert(dscnn_task, "int8")
    with pytest.raises(ExportError, match="precision"):
        tflite.convert(dscnn_task, "int4")


def test_crnn_streaming_tflite_equals_whole_clip(crnn_task):
    content = tflite.convert(crnn_task, "float32", streaming=True)
    assert "WHILE" not in tflite.model_ops(content)
    gate = parity.tflite_stream_vs_whole(crnn_task, content, parity.probe_waveforms(crnn_task, n=2))
    assert gate.passed, gate.line()
    runner = tflite.Runner(content)
    assert runner.runner.get_input_details()["audio"]["shape"].tolist() == [1, 320]


def test_converter_crash_becomes_export_error(dscnn_task, monkeypatch):
    def crash(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, -11, "", "Segmentation fault")

    monkeypatch.setattr(tflite.subprocess, "run", crash)
    with pytest.raises(ExportError, match="crashed.*signal 11"):
        tflite.convert(dscnn_task, "float32")


def test_rnn_is_unrolled_for_streaming(crnn_task):
    ready = tflite.unrolled(crnn_task)
    assert ready is not crnn_task and ready.backbone.unroll
    x = parity.probe_waveforms(crnn_task, n=2)
    np.testing.assert_allclose(ready(x).numpy(), crnn_task(x).numpy(), atol=1e-6)


def test_sliding_window_calibration_skips_the_silent_start(dscnn_task):
    """Calibration states are windows full of audio: never the initial digital-silence frames."""
    streamer = make_streamer(dscnn_task)
    waves = (0.1 * np.random.default_rng(0).standard_normal((3, dscnn_task.clip_samples))).astype(np.float32)
    data = tflite.representative_stream_inputs(streamer, waves, max_samples=1000)
    features = data["state_features"]
    assert len(features) == 3 * (dscnn_task.clip_samples // streamer.hop_samples - streamer.num_frames)
    silent = np.all(np.isclose(features, streamer.silence_frame, atol=1e-3), axis=-1)
    assert not silent.any()


def test_streaming_int8_keeps_the_sample_buffer_and_feature_ring_float(dscnn_task):
    """The audio buffer feeds the FFT and the ring is fed back every hop: both stay float32 (an int8
    buffer and a requantized ring cost the trained DNN spotter 4 points); the body runs int8."""
    streamer = make_streamer(dscnn_task)
    waves = parity.probe_waveforms(dscnn_task, n=8, seed=3)
    content = tflite.convert(dscnn_task, "int8", representative=waves, streaming=True)
    ops = tflite.op_details(content)
    assert [d["outputs"] for d in ops if d["op"] == "CONCATENATION"] and \
        all(d["outputs"] == ["float32"] for d in ops if d["op"] == "CONCATENATION")
    assert all(d["inputs"][0] == "float32" for d in ops if d["op"] in ("RFFT2D", "PAD"))
    assert [d for d in ops if d["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D")] and \
        all(d["outputs"] == ["int8"] for d in ops if d["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"))
    runner = tflite.Runner(content)
    out = runner(audio=waves[:1, :streamer.hop_samples], **streamer.initial_state(1))
    assert out["state_samples"].dtype == np.float32 and out["state_features"].dtype == np.float32


def test_stripping_debug_names_keeps_signature_and_numbers(dscnn_task, dscnn_int8):
    stripped = tflite.strip_debug_names(dscnn_int8)
    assert len(stripped) < len(dscnn_int8) - 5000  # the names of ~70 tensors
    assert tflite.model_ops(stripped) == tflite.model_ops(dscnn_int8)
    x = (0.1 * np.random.default_rng(3).standard_normal((2, dscnn_task.clip_samples))).astype(np.float32)
    np.testing.assert_array_equal(tflite.Runner(stripped).scores(x), tflite.Runner(dscnn_int8).scores(x))
    names = [d["names"] for d in tflite.op_details(stripped)]
    assert all(n == "" for group in names[:-1] for n in group)  # internal tensors carry no name
    assert tflite.memory_report(stripped)["activation_peak"] == tflite.memory_report(dscnn_int8)["activation_peak"]


def test_merging_duplicate_constants_is_lossless(dscnn_task, dscnn_int8):
    """An unrolled RNN's int8 graph gives every step its own tensor of the same weights (and a copy of
    the per-channel tables); merging them restores one tensor per weight without changing a number."""
    import copy

    model = tflite._flatbuffer(dscnn_int8)
    sg = model.subgraphs[0]
    per_channel = {i for i, t in enumerate(sg.tensors)
                   if t.quantization is not None and t.quantization.scale is not None and len(t.quantization.scale) > 1}
    assert per_channel
    for op in sg.operators:  # each reader of a per-channel weight gets two private copies of it
        for k, i in enumerate(list(op.inputs)):
            if i in per_channel:
                sg.tensors += [copy.deepcopy(sg.tensors[i]), copy.deepcopy(sg.tensors[i])]
                op.inputs[k] = len(sg.tensors) - 1
    duplicated = tflite._pack(model, len(dscnn_int8))

    merged = tflite.merge_duplicate_constants(duplicated)
    assert len(merged) < len(duplicated)
    assert len(merged) < len(dscnn_int8) * 1.02  # the Python flatbuffers builder lays out a little differently
    assert len(tflite._flatbuffer(merged).subgraphs[0].tensors) == len(sg.tensors) - 2 * len(per_channel)
    assert tflite.merge_duplicate_constants(dscnn_int8) == dscnn_int8  # nothing to merge: unchanged bytes
    x = (0.1 * np.random.default_rng(4).standard_normal((2, dscnn_task.clip_samples))).astype(np.float32)
    expected = tflite.Runner(dscnn_int8).scores(x)
    np.testing.assert_array_equal(tflite.Runner(duplicated).scores(x), expected)
    np.testing.assert_array_equal(tflite.Runner(merged).scores(x), expected)


def _float_tflite(model, input_shape, tmp_path) -> bytes:
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.add_endpoint("serve", lambda x: {"y": model(x)}, input_signature=[tf.TensorSpec(input_shape, tf.float32)])
    archive.write_out(str(tmp_path / "sm"), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm"), signature_keys=["serve"])
    return converter.convert()


def test_calibration_reads_every_loop_step(tmp_path):
    """A rolled RNN's body runs once per step; its ranges must cover every step, not the last one.
    h_t = relu(x_t @ W) with no recurrence: h_0 = (10, 0, 0), every later h_t = 0, so only a
    step-by-step replay sees the state reach 10."""
    import keras

    from export.calibration import calibrate

    inputs = keras.Input((6, 2), batch_size=1)
    rnn = keras.layers.SimpleRNN(3, activation="relu")
    model = keras.Model(inputs, rnn(inputs))
    rnn.set_weights([np.eye(2, 3, dtype=np.float32), np.zeros((3, 3), np.float32), np.zeros(3, np.float32)])
    content = _float_tflite(model, [1, 6, 2], tmp_path)
    assert "WHILE" in tflite.model_ops(content)
    x = np.zeros((4, 6, 2), np.float32)
    x[:, 0, 0] = 10.0
    x[:, 1:, 1] = -1.0
    calibrated = tflite._flatbuffer(calibrate(content, {"x": x}))
    body = calibrated.subgraphs[2]
    states = [body.tensors[i].quantization for i in body.outputs if list(body.tensors[i].shape) == [1, 3]]
    assert len(states) == 1 and states[0].max == [pytest.approx(10.0)] and states[0].min == [0.0]
    for sg in calibrated.subgraphs:  # every recorded range is ordered
        for t in sg.tensors:
            if t.quantization is not None and t.quantization.min is not None:
                assert t.quantization.min[0] <= t.quantization.max[0]


def test_rolled_rnn_int8_keeps_its_loops_and_quantizes_them(crnn_task):
    """Whole-clip RNNs stay WHILE loops (smaller than unrolled); int8 runs inside the loop body."""
    x = parity.probe_waveforms(crnn_task, n=16, seed=5)
    f32 = tflite.convert(crnn_task, "float32")
    int8 = tflite.convert(crnn_task, "int8", representative=x)
    unrolled = tflite.convert(crnn_task, "float32", unroll=True)
    assert "WHILE" in tflite.model_ops(f32) and "WHILE" in tflite.model_ops(int8)
    assert "WHILE" not in tflite.model_ops(unrolled) and len(f32) < len(unrolled)
    model = tflite._flatbuffer(int8)
    assert sum(t.type == 9 for t in model.subgraphs[2].tensors) >= 10  # TensorType.INT8 inside the loop
    main_peak = tflite._subgraph_memory(model, model.subgraphs[0])["activation_peak"]
    assert tflite.memory_report(int8)["activation_peak"] > main_peak  # the loop bodies' arenas count too
    assert parity.keras_vs_tflite(crnn_task, f32, x).passed
    agree = np.mean(tflite.Runner(int8).scores(x).argmax(1) == crnn_task(x).numpy().argmax(1))
    assert agree >= 0.75
