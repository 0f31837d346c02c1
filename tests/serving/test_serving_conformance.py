"""One conformance suite, parameterized by target address: always `zoo serve` on loopback; also a real
tensorflow_model_server when one is on PATH (skipped otherwise, saying why). Uses only the public
protos and the REST API, so it judges the server, not our client."""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)

from conftest import free_port
from serving.tensors import ndarray_to_proto, proto_to_ndarray

X = (0.2 * np.random.default_rng(11).standard_normal((2, 16000))).astype(np.float32)


@pytest.fixture(scope="module")
def tf_serving(model_root, model_configs, tmp_path_factory):
    binary = shutil.which("tensorflow_model_server")
    if binary is None:
        pytest.skip("tensorflow_model_server is not on PATH (not installable here: no PyPI/Debian package, no Docker)")
    from serving.config import to_text

    cfg = tmp_path_factory.mktemp("tfs") / "models.config"
    cfg.write_text(to_text(model_configs))
    port, rest = free_port(), free_port()
    proc = subprocess.Popen([binary, f"--port={port}", f"--rest_api_port={rest}", f"--model_config_file={cfg}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            req = get_model_status_pb2.GetModelStatusRequest()
            req.model_spec.name = "kws"
            if stub.GetModelStatus(req, timeout=2).model_version_status[0].state == 30:
                break
        except grpc.RpcError:
            time.sleep(0.5)
    yield f"127.0.0.1:{port}", rest
    proc.terminate()
    proc.wait(30)


@pytest.fixture(params=["zoo_serve", "tensorflow_model_server"])
def target(request, server):
    if request.param == "zoo_serve":
        return server.target, server.rest_api_port
    return request.getfixturevalue("tf_serving")


def _predict(target, inputs, model="kws", signature="recognize"):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))
    req = predict_pb2.PredictRequest()
    req.model_spec.name = model
    req.model_spec.signature_name = signature
    for k, v in inputs.items():
        ndarray_to_proto(v, req.inputs[k])
    resp = stub.Predict(req, timeout=20)
    return resp, {k: proto_to_ndarray(v, k, 1 << 30) for k, v in resp.outputs.items()}


def test_predict_matches_keras(target, kws_task):
    resp, out = _predict(target[0], {"waveform": X, "waveform_length": np.array([16000, 16000], np.int32)})
    assert resp.model_spec.name == "kws" and resp.model_spec.version.value == 1
    assert resp.model_spec.signature_name == "recognize"
    np.testing.assert_allclose(out["scores"], kws_task(X).numpy(), atol=1e-5)
    assert out["label_ids"].dtype == np.int32 and out["labels"].dtype == object


def test_metadata_signature_defs(target):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target[0]))
    req = get_model_metadata_pb2.GetModelMetadataRequest()
    req.model_spec.name = "kws"
    req.metadata_field.append("signature_def")
    resp = stub.GetModelMetadata(req, timeout=10)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    resp.metadata["signature_def"].Unpack(sig_map)
    assert {"recognize", "serving_default", "recognize_wav"} <= set(sig_map.signature_def)
    sig = sig_map.signature_def["recognize"]
    assert set(sig.inputs) == {"waveform", "waveform_length"} and set(sig.outputs) == {"scores", "label_ids", "labels"}
    assert sig.method_name == "tensorflow/serving/predict"


def test_status_and_errors(target):
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(target[0]))
    req = get_model_status_pb2.GetModelStatusRequest()
    req.model_spec.name = "kws"
    status = stub.GetModelStatus(req, timeout=10).model_version_status
    assert [(s.version, s.state) for s in status] == [(1, 30)]  # AVAILABLE
    with pytest.raises(grpc.RpcError) as err:
        _predict(target[0], {"waveform": X}, model="no_such_model")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        _predict(target[0], {"waveform": X.astype(np.float64), "waveform_length": np.array([1, 1], np.int32)})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_rest_predict_and_status(target, kws_task):
    base = f"http://127.0.0.1:{target[1]}/v1/models/kws"
    body = json.dumps({"signature_name": "recognize", "instances": [{"waveform": X[0].tolist(), "waveform_length": 16000}]})
    with urllib.request.urlopen(urllib.request.Request(base + ":predict", data=body.encode()), timeout=20) as r:
        pred = json.loads(r.read())["predictions"][0]
    np.testing.assert_allclose(pred["scores"], kws_task(X[:1]).numpy()[0], atol=1e-5)
    with urllib.request.urlopen(base, timeout=10) as r:
        assert json.loads(r.read())["model_version_status"][0]["state"] == "AVAILABLE"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(base.replace("/kws", "/no_such_model"), timeout=10)
    assert err.value.code == 404 and "error" in json.loads(err.value.read())
