"""End to end on 127.0.0.1: gRPC and REST outputs equal in-process Keras outputs within 1e-5 for the
three endpoint kinds; metadata, status, labels, health, metrics, UNIMPLEMENTED Classify."""

import base64

import grpc
import numpy as np
import pytest
import tensorflow as tf

from export.saved_model import wav_bytes
from serving.errors import ServingError


def _audio(n, seed=0, scale=0.2):
    return (scale * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def test_recognize_grpc_and_rest_match_keras(client, rest, kws_task):
    x = np.stack([_audio(16000, 1), _audio(16000, 2)])
    ref = kws_task(x).numpy()
    out = client.predict("kws", {"waveform": x, "waveform_length": np.array([16000, 16000], np.int32)},
                         signature="recognize")
    np.testing.assert_allclose(out["scores"], ref, atol=1e-5)
    assert [s.decode() for s in out["labels"]] == [kws_task.labels[i] for i in ref.argmax(1)]
    helper = client.recognize("kws", list(x))
    assert [r["label_id"] for r in helper] == list(ref.argmax(1))
    # REST row format and columnar format give the same numbers.
    status, body = rest("/v1/models/kws:predict", {"signature_name": "recognize", "instances": [
        {"waveform": x[0].tolist(), "waveform_length": 16000}, {"waveform": x[1].tolist(), "waveform_length": 16000}]})
    assert status == 200
    np.testing.assert_allclose([p["scores"] for p in body["predictions"]], ref, atol=1e-5)
    assert [p["labels"] for p in body["predictions"]] == [kws_task.labels[i] for i in ref.argmax(1)]
    status, body = rest("/v1/models/kws/versions/1:predict",
                        {"signature_name": "recognize", "inputs": {"waveform": x.tolist(), "waveform_length": [16000, 16000]}})
    assert status == 200 and set(body["outputs"]) == {"scores", "label_ids", "labels"}
    np.testing.assert_allclose(body["outputs"]["scores"], ref, atol=1e-5)


def test_recognize_wav_grpc_and_rest_b64(client, rest, kws_task):
    x = _audio(16000, 3)
    raw = wav_bytes(x, 16000)
    pcm = np.round(np.clip(x, -1, 1) * 32767) / 32768  # what decode_wav gives back
    ref = kws_task(pcm[None].astype(np.float32)).numpy()[0]
    got = client.recognize_wav("kws", [raw])
    assert got[0]["label_id"] == int(ref.argmax())
    status, body = rest("/v1/models/kws/labels/stable:predict",
                        {"signature_name": "recognize_wav", "instances": [{"b64": base64.b64encode(raw).decode()}]})
    assert status == 200
    np.testing.assert_allclose(body["predictions"][0]["scores"], ref, atol=1e-5)


def test_client_resamples_or_refuses(client, kws_task):
    import librosa

    from zoo.errors import AudioError

    x8k = _audio(8000, 4)
    up = librosa.resample(x8k, orig_sr=8000, target_sr=16000, res_type="soxr_hq").astype(np.float32)
    got = client.recognize("kws", x8k, sample_rate=8000)[0]
    ref = kws_task(kws_task.select_window(up)[None]).numpy()[0]
    np.testing.assert_allclose(got["scores"], ref, atol=1e-4)
    with pytest.raises(AudioError, match="expects 16000 Hz"):
        client.recognize("kws", x8k, sample_rate=8000, resample=False)


def test_separate_grpc_and_rest_match_keras(client, rest, separator):
    x = _audio(4000, 5)
    ref = separator.separate(x[None], np.array([4000], np.int32)).numpy()[0]
    sources = client.separate("sep", x, sample_rate=8000)[0]
    assert sources.shape == (2, 4000)
    np.testing.assert_allclose(sources, ref, atol=1e-5)
    # Ragged batch: equal to the in-process call on the same padded batch, zero beyond each length.
    short = _audio(1500, 6)
    both = client.separate("sep", [x, short])
    local = separator.separate(np.stack([x, np.pad(short, (0, 2500))]), np.array([4000, 1500], np.int32)).numpy()
    np.testing.assert_allclose(both[0], local[0], atol=1e-5)
    np.testing.assert_allclose(both[1], local[1, :, :1500], atol=1e-5)
    assert not np.any(local[1, :, 1500:])
    status, body = rest("/v1/models/sep:predict", {"signature_name": "separate",
                                                     "inputs": {"mixture": [x.tolist()], "mixture_length": [4000]}})
    assert status == 200
    np.testing.assert_allclose(np.array(body["outputs"])[0], ref, atol=1e-5)


def test_synthesize_grpc_and_rest_match_keras(client, rest, synthesizer):
    texts = ["yes", "turn on the kitchen light"]
    local = synthesizer.synthesize(tf.constant(texts))
    lengths = local["waveform_length"].numpy()
    waves = client.synthesize("tts", texts)
    assert [w.size for w in waves] == list(lengths) and min(lengths) > 0
    for i, w in enumerate(waves):
        np.testing.assert_allclose(w, local["waveform"].numpy()[i, :w.size], atol=1e-5)
    single = synthesizer.synthesize(tf.constant(["yes"]))["waveform"].numpy()[0]  # alone: no batch padding
    status, body = rest("/v1/models/tts:predict", {"signature_name": "synthesize", "instances": ["yes"]})
    assert status == 200 and body["predictions"][0]["waveform_length"] == lengths[0] == single.size
    np.testing.assert_allclose(body["predictions"][0]["waveform"], single, atol=1e-5)


def test_metadata_status_labels(client, rest):
    meta = client.metadata("kws")
    assert meta["version"] == 1 and meta["zoo"]["sample_rate"] == 16000
    assert meta["signatures"]["recognize"]["inputs"] == {"waveform": ("float32", (None, None)),
                                                         "waveform_length": ("int32", (None,))}
    assert set(meta["signatures"]) == {"recognize", "serving_default", "recognize_wav"}
    assert client.status("kws") == [{"version": 1, "state": "AVAILABLE", "error_message": ""}]
    status, body = rest("/v1/models/kws")
    assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
    status, body = rest("/v1/models/kws/labels/stable/metadata")
    assert status == 200 and body["model_spec"]["version"] == "1"
    assert set(body["metadata"]["signature_def"]["signature_def"]) == set(meta["signatures"])
    assert rest("/v1/models/kws/labels/nope")[0] == 404
    assert rest("/v1/models/kws/versions/9")[0] == 404


def test_health_readiness_metrics(client, rest):
    assert client.health() and client.health("kws") and client.health("tensorflow.serving.PredictionService")
    assert not client.health("no-such-service")
    assert rest("/v1/health/ready") == (200, {"ready": True})
    client.recognize("kws", _audio(16000, 7))
    status, text = rest("/monitoring/prometheus/metrics")
    assert status == 200
    assert 'zoo_serving_requests_total{api="grpc",model="kws",signature="Predict:recognize",code="OK"}' in text
    assert 'zoo_serving_request_latency_seconds_bucket{api="grpc",model="kws",signature="Predict:recognize",le="+Inf"}' in text


def test_classify_and_regress_unimplemented(server):
    from tensorflow_serving.apis import classification_pb2, prediction_service_pb2_grpc, regression_pb2

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.target))
    for call, req in ((stub.Classify, classification_pb2.ClassificationRequest()),
                      (stub.Regress, regression_pb2.RegressionRequest())):
        req.model_spec.name = "kws"
        with pytest.raises(grpc.RpcError) as err:
            call(req, timeout=5)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED and "no " in err.value.details()


def test_client_errors_are_typed(client):
    with pytest.raises(ServingError) as err:
        client.recognize("nope", _audio(100))
    assert err.value.code == "NOT_FOUND"
    with pytest.raises(ServingError, match="no 'separate' signature"):
        client.separate("kws", _audio(100))


def test_signature_caller_equals_the_public_signature_call(server):
    """The server's flat-input call of a signature returns exactly what `fn(**inputs)` returns, for
    every signature of the three endpoint kinds; without TensorFlow's internals it falls back."""
    from serving.servable import signature_caller

    def example(model, name, dtype, shape):
        samples = {"kws": 16000, "sep": 8000}.get(model, 0)
        if dtype == "string":
            return np.array([b"go left"] if model == "tts" else [wav_bytes(_audio(samples, 4), samples)], object)
        if dtype == "float32" and len(shape) == 2:
            return _audio(samples, 5)[None]
        if dtype == "int32" and len(shape) == 1:
            return np.array([samples - 100], np.int32)
        raise AssertionError(f"no example for {model}/{name}: {dtype}{shape}")

    checked = []
    for model in ("kws", "sep", "tts"):
        servable = server.manager.resolve(model)
        for sig, fn in servable.signatures.items():
            spec = servable.specs[sig]["inputs"]
            tensors = {k: tf.constant(example(model, k, *spec[k])) for k in spec}
            fast = signature_caller(fn, list(spec))(tensors)
            public = fn(**tensors)
            assert sorted(fast) == sorted(public)
            for k in public:
                np.testing.assert_array_equal(fast[k].numpy(), public[k].numpy())
            checked.append(f"{model}/{sig}")
    assert {"kws/recognize", "kws/recognize_wav", "sep/separate", "tts/synthesize"} <= set(checked), checked

    calls = []

    def plain(**kw):
        calls.append(sorted(kw))
        return {"y": kw["x"]}

    assert signature_caller(plain, ["x"])({"x": 1}) == {"y": 1} and calls == [["x"]]
