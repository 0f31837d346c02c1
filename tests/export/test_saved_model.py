import json

import numpy as np
import pytest
import tensorflow as tf

from export.saved_model import export_saved_model, read_warmup_requests, wav_bytes
from zoo.errors import ExportError
from zoo.presets import sha256_file


def test_layout_and_signatures(crnn_saved_model, crnn_task):
    path = crnn_saved_model
    assert path.name == "1" and path.parent.name == crnn_task.name
    sigs = tf.saved_model.load(str(path)).signatures
    assert set(sigs) == {"recognize", "serving_default", "recognize_wav", "stream"}
    for name in ("recognize", "serving_default"):
        inputs = sigs[name].structured_input_signature[1]
        assert {k: (v.dtype, tuple(v.shape)) for k, v in inputs.items()} == {
            "waveform": (tf.float32, (None, None)), "waveform_length": (tf.int32, (None,))}
        outputs = sigs[name].structured_outputs
        assert {k: (v.dtype, tuple(v.shape)) for k, v in outputs.items()} == {
            "scores": (tf.float32, (None, 12)), "label_ids": (tf.int32, (None,)), "labels": (tf.string, (None,))}
    assert {k: v.dtype for k, v in sigs["recognize_wav"].structured_input_signature[1].items()} == {"wav": tf.string}
    stream_in = sigs["stream"].structured_input_signature[1]
    assert stream_in["audio"].shape.as_list() == [None, 320]
    assert set(stream_in) - {"audio"} <= set(sigs["stream"].structured_outputs)


def test_every_weight_is_stored_once(crnn_saved_model, crnn_task):
    """Keras 3's ExportArchive.track(model) saved each weight twice (as the Keras variable and as the
    tf.Variable the endpoints capture); the exporter relies on the endpoints alone."""
    reader = tf.train.load_checkpoint(str(crnn_saved_model / "variables" / "variables"))
    shapes = {k: v for k, v in reader.get_variable_to_shape_map().items() if k != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    stored = sum(int(np.prod(shape)) for shape in shapes.values())
    assert stored == sum(int(np.prod(w.shape)) for w in crnn_task.weights), sorted(shapes)[:5]


def test_metadata_and_warmup(crnn_saved_model, crnn_task):
    meta = json.loads((crnn_saved_model / "metadata.json").read_text())
    assert meta["sample_rate"] == 16000 and meta["labels"] == crnn_task.labels
    assert meta["signatures"]["recognize"]["outputs"][0]["name"] == "scores"
    assert meta["signatures"]["stream"]["hop_samples"] == 320
    assert "saved_model.pb" in meta["files"] and "assets.extra/tf_serving_warmup_requests" in meta["files"]
    for rel, entry in meta["files"].items():
        assert sha256_file(crnn_saved_model / rel) == entry["sha256"], rel
    records = read_warmup_requests(crnn_saved_model / "assets.extra" / "tf_serving_warmup_requests")
    assert [r["signature_name"] for r in records] == ["recognize", "serving_default", "recognize_wav", "stream"]
    assert all(r["model_name"] == crnn_task.name and r["log_type"] == 6 for r in records)
    assert records[0]["inputs"]["waveform"].shape == (1, 16000)
    # Every warmup request must run against its signature.
    sigs = tf.saved_model.load(str(crnn_saved_model)).signatures
    for r in records:
        sigs[r["signature_name"]](**{k: tf.constant(v) for k, v in r["inputs"].items()})


def test_recognize_matches_keras_and_select_window(crnn_saved_model, crnn_task):
    fn = tf.saved_model.load(str(crnn_saved_model)).signatures["recognize"]
    rng = np.random.default_rng(1)
    x = (0.3 * rng.standard_normal((2, 16000))).astype(np.float32)
    out = fn(waveform=tf.constant(x), waveform_length=tf.constant([16000, 16000]))
    np.testing.assert_allclose(out["scores"].numpy(), crnn_task(x).numpy(), atol=1e-5)
    assert [s.decode() for s in out["labels"].numpy()] == [crnn_task.labels[i] for i in out["label_ids"].numpy()]
    # Long and short (padded) rows in one batch behave like AudioClassifier.select_window.
    y = (0.05 * rng.standard_normal((2, 30000))).astype(np.float32)
    y[0, 11000:15000] *= 20
    out = fn(waveform=tf.constant(y), waveform_length=tf.constant([30000, 9000])).get("scores").numpy()
    for row, length in ((0, 30000), (1, 9000)):
        ref = crnn_task(crnn_task.select_window(y[row, :length])[None]).numpy()[0]
        np.testing.assert_allclose(out[row], ref, atol=1e-5)
    # One clip wide but one row shorter: not the exact-clip shortcut, the row is centred and padded.
    out = fn(waveform=tf.constant(x), waveform_length=tf.constant([16000, 7000])).get("scores").numpy()
    np.testing.assert_allclose(out[0], crnn_task(x[:1]).numpy()[0], atol=1e-5)
    ref = crnn_task(crnn_task.select_window(x[1, :7000])[None]).numpy()[0]
    np.testing.assert_allclose(out[1], ref, atol=1e-5)


def test_wav_endpoint(crnn_saved_model, crnn_task):
    sigs = tf.saved_model.load(str(crnn_saved_model)).signatures
    rng = np.random.default_rng(2)
    a = (0.2 * rng.standard_normal(16000)).astype(np.float32)
    b = (0.2 * rng.standard_normal(7000)).astype(np.float32)
    out = sigs["recognize_wav"](wav=tf.constant([wav_bytes(a, 16000), wav_bytes(b, 16000)]))
    pcm = [np.round(v * 32767) / 32768 for v in (a, b)]  # decode_wav scales int16 by 1/32768
    ref = sigs["recognize"](waveform=tf.constant(np.stack([pcm[0], np.pad(pcm[1], (0, 9000))]).astype(np.float32)),
                            waveform_length=tf.constant([16000, 7000]))
    np.testing.assert_allclose(out["scores"].numpy(), ref["scores"].numpy(), atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="sample rate"):
        sigs["recognize_wav"](wav=tf.constant([wav_bytes(a, 8000)]))


@pytest.mark.parametrize("case", ["nan", "length_too_long", "length_zero", "length_batch"])
def test_invalid_inputs_fail_with_invalid_argument(crnn_saved_model, case):
    fn = tf.saved_model.load(str(crnn_saved_model)).signatures["recognize"]
    x = np.zeros((2, 16000), np.float32)
    lengths = np.array([16000, 16000], np.int32)
    if case == "nan":
        x[1, 3] = np.nan
    elif case == "length_too_long":
        lengths[0] = 16001
    elif case == "length_zero":
        lengths[1] = 0
    else:
        lengths = lengths[:1]
    with pytest.raises(tf.errors.InvalidArgumentError):
        fn(waveform=tf.constant(x), waveform_length=tf.constant(lengths))


def test_existing_version_is_not_overwritten(crnn_saved_model, crnn_task):
    with pytest.raises(ExportError, match="already exists"):
        export_saved_model(crnn_task, crnn_saved_model.parent.parent, version=1)
