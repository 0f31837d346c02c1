"""A corpus of >= 200 malformed requests over gRPC and REST: each gets INVALID_ARGUMENT, NOT_FOUND or
RESOURCE_EXHAUSTED (400/404/413/429), with a message naming what was wrong; none gets INTERNAL, and the
server still answers correctly afterwards."""

import http.client
import io
import json
import wave

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_management_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from export.saved_model import wav_bytes

OK4XX = {"INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED"}
T = 1600
GOOD = {"waveform": np.zeros((1, T), np.float32) + 0.01, "waveform_length": np.array([T], np.int32)}


def _req(inputs, model="kws", signature="recognize", version=None, label=None, output_filter=()):
    req = predict_pb2.PredictRequest()
    req.model_spec.name = model
    req.model_spec.signature_name = signature
    if version is not None:
        req.model_spec.version.value = version
    if label:
        req.model_spec.version_label = label
    for k, v in inputs.items():
        req.inputs[k].CopyFrom(v if isinstance(v, type(req.inputs[k])) else tf.make_tensor_proto(v))
    req.output_filter.extend(output_filter)
    return req


def _with(**changes):
    d = dict(GOOD)
    d.update(changes)
    return {k: v for k, v in d.items() if v is not None}


def _wav(rate=16000, width=2, frames=800, channels=1):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x01" * frames * width * channels)
    return buf.getvalue()


def grpc_cases():
    """(id, method, request, expected code set, words that must appear in the message)"""
    P, M, S, R = "predict", "metadata", "status", "reload"
    cases = []
    for i, name in enumerate(["nope", "KWS", "kws ", "kws/1", "", "x" * 300, "sep2", "tts_", "../kws", "kws\n"]):
        cases.append((f"model-{i}", P, _req(GOOD, model=name), {"NOT_FOUND", "INVALID_ARGUMENT"}, "model"))
    for v in (2, 9, 0, 12345, 2 ** 40):
        cases.append((f"version-{v}", P, _req(GOOD, version=v), {"NOT_FOUND"}, "version"))
    for lab in ("canary", "STABLE", "x"):
        cases.append((f"label-{lab}", P, _req(GOOD, label=lab), {"NOT_FOUND"}, "label"))
    for sig in ("recognise", "stream", "classify", "RECOGNIZE", "serving-default", "x" * 100, "separate", "synthesize"):
        cases.append((f"signature-{sig[:12]}", P, _req(GOOD, signature=sig), {"NOT_FOUND"}, "signature"))
    for sig in ("recognize", "serving_default"):
        for dt in (np.float64, np.int32, np.int64, np.float16, np.int16, np.uint8, np.bool_):
            cases.append((f"dtype-{sig}-{np.dtype(dt).name}", P, _req(_with(waveform=GOOD["waveform"].astype(dt)), signature=sig),
                          {"INVALID_ARGUMENT"}, "dtype"))
        cases.append((f"dtype-{sig}-string", P, _req(_with(waveform=np.array([[b"a"] * 4])), signature=sig), {"INVALID_ARGUMENT"}, "dtype"))
        for dt in (np.float32, np.int64, np.float64):
            cases.append((f"len-dtype-{sig}-{np.dtype(dt).name}", P,
                          _req(_with(waveform_length=np.array([T], dt)), signature=sig), {"INVALID_ARGUMENT"}, "dtype"))
        for shape in ((T,), (1, 1, T), (), (1, T, 1)):
            cases.append((f"rank-{sig}-{shape}", P, _req(_with(waveform=np.zeros(shape, np.float32)), signature=sig),
                          {"INVALID_ARGUMENT"}, "rank"))
        for ln in (np.array([[T]], np.int32), np.array(T, np.int32)):
            cases.append((f"len-rank-{sig}-{ln.ndim}", P, _req(_with(waveform_length=ln), signature=sig), {"INVALID_ARGUMENT"}, "rank"))
        cases.append((f"batch-mismatch-{sig}", P, _req(_with(waveform_length=np.array([T, T], np.int32)), signature=sig),
                      {"INVALID_ARGUMENT"}, "batch"))
        for bad_len in (T + 1, 0, -5, 2 ** 31 - 1):
            cases.append((f"length-value-{sig}-{bad_len}", P, _req(_with(waveform_length=np.array([bad_len], np.int32)), signature=sig),
                          {"INVALID_ARGUMENT"}, "waveform_length"))
        for shape in ((0, T), (1, 0)):
            cases.append((f"empty-{sig}-{shape}", P, _req({"waveform": np.zeros(shape, np.float32),
                                                           "waveform_length": np.zeros(shape[:1], np.int32) + 1}, signature=sig),
                          {"INVALID_ARGUMENT"}, "empty"))
        for pos, val in ((0, np.nan), (T - 1, np.inf), (7, -np.inf), (100, np.nan)):
            w = GOOD["waveform"].copy()
            w[0, pos] = val
            cases.append((f"nonfinite-{sig}-{pos}", P, _req(_with(waveform=w), signature=sig), {"INVALID_ARGUMENT"}, "NaN or Inf"))
        cases.append((f"missing-{sig}", P, _req({"waveform": GOOD["waveform"]}, signature=sig), {"INVALID_ARGUMENT"}, "missing"))
        cases.append((f"missing-all-{sig}", P, _req({}, signature=sig), {"INVALID_ARGUMENT"}, "missing"))
        cases.append((f"extra-{sig}", P, _req(_with(gain=np.ones(1, np.float32)), signature=sig), {"INVALID_ARGUMENT"}, "unknown"))
        cases.append((f"renamed-{sig}", P, _req({"audio": GOOD["waveform"], "waveform_length": GOOD["waveform_length"]}, signature=sig),
                      {"INVALID_ARGUMENT"}, "missing"))
        cases.append((f"too-long-{sig}", P, _req({"waveform": np.zeros((1, 960001), np.float32),
                                                  "waveform_length": np.array([960001], np.int32)}, signature=sig),
                      {"INVALID_ARGUMENT"}, "longer than"))
        cases.append((f"filter-{sig}", P, _req(GOOD, signature=sig, output_filter=["probabilities"]), {"INVALID_ARGUMENT"}, "output_filter"))
        cases.append((f"filter-dup-{sig}", P, _req(GOOD, signature=sig, output_filter=["scores", "scores"]), {"INVALID_ARGUMENT"}, "repeats"))
    # Hand-built TensorProtos: inconsistent content, huge claimed shapes, unknown dtypes, negative dims.
    def proto(dtype=1, dims=(1, T), content=None, floats=None, unknown_rank=False):
        p = tf.make_tensor_proto(0.0)
        p.Clear()
        p.dtype = dtype
        p.tensor_shape.unknown_rank = unknown_rank
        for d in dims:
            p.tensor_shape.dim.add().size = d
        if content is not None:
            p.tensor_content = content
        if floats is not None:
            p.float_val.extend(floats)
        return p
    raw = proto(content=b"\0" * (4 * T - 2))
    cases.append(("content-short", P, _req(_with(waveform=raw)), {"INVALID_ARGUMENT"}, "tensor_content"))
    cases.append(("content-long", P, _req(_with(waveform=proto(content=b"\0" * (4 * T + 4)))), {"INVALID_ARGUMENT"}, "tensor_content"))
    cases.append(("values-count", P, _req(_with(waveform=proto(floats=[0.1] * 7))), {"INVALID_ARGUMENT"}, "value count"))
    cases.append(("no-values", P, _req(_with(waveform=proto(floats=[]))), {"INVALID_ARGUMENT"}, "value count"))
    cases.append(("huge-shape", P, _req(_with(waveform=proto(dims=(1, 10 ** 12)))), {"RESOURCE_EXHAUSTED"}, "too large"))
    cases.append(("huge-shape-2", P, _req(_with(waveform=proto(dims=(10 ** 6, 10 ** 6)))), {"RESOURCE_EXHAUSTED"}, "too large"))
    cases.append(("negative-dim", P, _req(_with(waveform=proto(dims=(1, -3)))), {"INVALID_ARGUMENT"}, "negative"))
    cases.append(("unknown-rank", P, _req(_with(waveform=proto(dims=(), unknown_rank=True))), {"INVALID_ARGUMENT"}, "unknown rank"))
    for enum in (0, 20, 21, 999, 14, 8):
        cases.append((f"dtype-enum-{enum}", P, _req(_with(waveform=proto(dtype=enum))), {"INVALID_ARGUMENT"}, "dtype"))
    # Garbage to the WAV endpoint.
    rng = np.random.default_rng(0)
    wavs = [rng.bytes(n) for n in (1, 10, 44, 100, 1000, 5000)] + [b"", b"RIFF", b"RIFF" + b"\0" * 40,
            wav_bytes(np.zeros(800), 16000)[:30], _wav(rate=8000), _wav(rate=44100), _wav(width=1), _wav(width=4),
            b"not a wav at all", wav_bytes(np.zeros(800), 16000).replace(b"WAVE", b"WAVX"), _wav(frames=0),
            wav_bytes(np.zeros(10 ** 6), 16000)]
    for i, w in enumerate(wavs):
        cases.append((f"wav-garbage-{i}", P, _req({"wav": np.array([w], dtype=object)}, signature="recognize_wav"),
                      {"INVALID_ARGUMENT"}, ""))
    cases.append(("wav-float", P, _req({"wav": np.zeros(1, np.float32)}, signature="recognize_wav"), {"INVALID_ARGUMENT"}, "dtype"))
    cases.append(("wav-rank2", P, _req({"wav": np.array([[b"x"]], dtype=object)}, signature="recognize_wav"), {"INVALID_ARGUMENT"}, "rank"))
    # Separation and synthesis endpoints.
    mix = np.zeros((1, 400), np.float32)
    for i, inputs in enumerate([{"mixture": mix}, {"mixture": mix.astype(np.float64), "mixture_length": np.array([400], np.int32)},
                                {"mixture": mix[0], "mixture_length": np.array([400], np.int32)},
                                {"mixture": mix, "mixture_length": np.array([400.0], np.float32)},
                                {"mixture": mix + np.nan, "mixture_length": np.array([400], np.int32)},
                                {"mixture": np.zeros((0, 400), np.float32), "mixture_length": np.zeros(0, np.int32)}]):
        cases.append((f"separate-{i}", P, _req(inputs, model="sep", signature="separate"), {"INVALID_ARGUMENT"}, ""))
    for i, inputs in enumerate([{"text": np.zeros(1, np.float32)}, {"text": np.array([[b"a"]], dtype=object)}, {},
                                {"text": np.array([b"a"], dtype=object), "speaker_id": np.zeros(1, np.int32)},
                                {"text": np.array([], dtype=object)}, {"text": np.array(b"a", dtype=object)}]):
        cases.append((f"synthesize-{i}", P, _req(inputs, model="tts", signature="synthesize"), {"INVALID_ARGUMENT"}, ""))
    # Metadata, status and reload requests.
    for i, (fields, name) in enumerate([([], "kws"), (["signature"], "kws"), (["signature_def"], "nope"), (["signature_def"], "")]):
        req = get_model_metadata_pb2.GetModelMetadataRequest()
        req.model_spec.name = name
        req.metadata_field.extend(fields)
        cases.append((f"metadata-{i}", M, req, {"INVALID_ARGUMENT", "NOT_FOUND"}, ""))
    for i, (name, version) in enumerate([("nope", None), ("kws", 7), ("", None)]):
        req = get_model_status_pb2.GetModelStatusRequest()
        req.model_spec.name = name
        if version:
            req.model_spec.version.value = version
        cases.append((f"status-{i}", S, req, {"NOT_FOUND"}, "model"))
    for i, text in enumerate(["config { name: 'a' }", "config { name: 'a' base_path: '/x' } config { name: 'a' base_path: '/y' }",
                              "config { name: 'a' base_path: '/x' model_platform: 'pytorch' }"]):
        req = model_management_pb2.ReloadConfigRequest()
        from google.protobuf import text_format
        text_format.Parse(text, req.config.model_config_list)
        cases.append((f"reload-{i}", R, req, {"INVALID_ARGUMENT"}, ""))
    req = model_management_pb2.ReloadConfigRequest()
    req.config.custom_model_config.Pack(predict_pb2.PredictRequest())
    cases.append(("reload-custom", R, req, {"INVALID_ARGUMENT"}, "model_config_list"))
    # Bytes that are not a PredictRequest at all.
    for i, raw_bytes in enumerate([b"\xff" * 10, b"\x0a\xff\xff\xff\xff\x0f", rng.bytes(64), rng.bytes(500), b"\x12\x05abc",
                                   b"\x0a\x03kws\x12", b"\x08", b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"]):
        cases.append((f"garbage-{i}", "raw", raw_bytes, {"INVALID_ARGUMENT"}, ""))
    cases.append(("oversized-message", P, _req({"waveform": np.zeros((1, 1_200_000), np.float32),
                                                "waveform_length": np.array([1_200_000], np.int32)}), {"RESOURCE_EXHAUSTED"}, ""))
    return cases


REST_CASES = [
    # (id, method, path, body bytes or obj, expected HTTP statuses, words)
    *[(f"json-{i}", "POST", "/v1/models/kws:predict", raw, {400}, "JSON") for i, raw in enumerate(
        [b"{", b"[", b"nul", b"{'a': 1}", b"\xff\xfe\x00", b"", b"{\"instances\": [1,}", b"{\"a\":1}}", b"\x00" * 20,
         b"{\"instances\": [1e999999999999999999]", b"[[[[[[", b"{\"instances\":"])],
    *[(f"json-type-{i}", "POST", "/v1/models/kws:predict", raw, {400}, "object") for i, raw in enumerate(
        [b"123", b"\"str\"", b"[1, 2]", b"null", b"true"])],
    ("keys-unknown", "POST", "/v1/models/kws:predict", {"instances": [1], "extra": 1}, {400}, "unknown request keys"),
    ("keys-both", "POST", "/v1/models/kws:predict", {"instances": [1], "inputs": [1]}, {400}, "exactly one"),
    ("keys-neither", "POST", "/v1/models/kws:predict", {"signature_name": "recognize"}, {400}, "exactly one"),
    ("signature-type", "POST", "/v1/models/kws:predict", {"signature_name": 5, "instances": [1]}, {400}, "signature_name"),
    ("instances-not-list", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "instances": {"a": 1}}, {400}, "list"),
    ("instances-empty", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "instances": []}, {400}, "non-empty"),
    ("instances-scalars", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "instances": [1, 2]}, {400}, "objects"),
    ("instances-mixed-keys", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "instances": [
        {"waveform": [0.1], "waveform_length": 1}, {"waveform": [0.1]}]}, {400}, "same inputs"),
    ("instances-ragged", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "instances": [
        {"waveform": [0.1, 0.2], "waveform_length": 2}, {"waveform": [0.1], "waveform_length": 1}]}, {400}, "ragged"),
    *[(f"value-{i}", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "inputs": {
        "waveform": w, "waveform_length": n}}, {400}, words) for i, (w, n, words) in enumerate([
        ([["a", "b"]], [2], "numbers"), ([[True, False]], [2], "numbers"), ([[{"x": 1}]], [1], "b64"),
        ([[0.1, None]], [2], "numbers"), ([[0.1, [0.2]]], [2], "ragged"), ([[0.1, 0.2]], [2.5], "integers"),
        ([[0.1, 0.2]], [2 ** 40], "outside"), ([[0.1, 0.2]], ["2"], "numbers"), ([[0.1, 0.2]], [3], "waveform_length"),
        ([[0.1, 0.2]], [0], "waveform_length"), ([[0.1, 0.2]], [[2]], "rank"), ([0.1, 0.2], [2], "rank"),
        ([[0.1, 0.2]], [2, 2], "batch"), ([[]], [1], "empty"), ([], [], "rank"), (0.5, [1], "rank"),
        ([[{"b64": "AAAA"}]], [1], "numbers"), ([[0.1, 0.2]], [-1], "waveform_length")])],
    ("nan", "POST", "/v1/models/kws:predict", b'{"signature_name": "recognize", "inputs": {"waveform": [[0.1, NaN]], "waveform_length": [2]}}', {400}, "NaN"),
    ("inf", "POST", "/v1/models/kws:predict", b'{"signature_name": "recognize", "inputs": {"waveform": [[Infinity, 0.1]], "waveform_length": [2]}}', {400}, "NaN"),
    ("unknown-input", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "inputs": {"audio": [[0.1]]}}, {400}, "unknown input"),
    ("columnar-bare", "POST", "/v1/models/kws:predict", {"signature_name": "recognize", "inputs": [[0.1]]}, {400}, "naming the inputs"),
    *[(f"wav-{i}", "POST", "/v1/models/kws:predict", {"signature_name": "recognize_wav", "instances": inst}, {400}, words)
      for i, (inst, words) in enumerate([([{"b64": "!!!"}], "base64"), ([{"b64": "UklGRg=="}], ""), ([{"b64": "AAAA", "x": 1}], "b64"),
                                         ([{"b64": 5}], "b64"), ([1.5], "strings"), (["not wav"], ""), ([{"b64": ""}], ""),
                                         ([[{"b64": "AAAA"}]], "rank")])],
    *[(f"model-{i}", "POST", path, {"instances": [1]}, {404}, "") for i, path in enumerate(
        ["/v1/models/nope:predict", "/v1/models/kws/versions/5:predict", "/v1/models/kws/labels/nope:predict",
         "/v1/models/KWS:predict", "/v1/model/kws:predict", "/v2/models/kws:predict", "/v1/models/kws:predikt",
         "/v1/models/kws/versions/1/labels/stable:predict", "/", "/v1/models/", "/v1/models/kws/metadata/extra"])],
    ("signature-unknown", "POST", "/v1/models/kws:predict", {"signature_name": "nope", "instances": [1]}, {404}, "signature"),
    ("signature-stream", "POST", "/v1/models/kws:predict", {"signature_name": "stream", "instances": [1]}, {404}, "signature"),
    ("version-text", "GET", "/v1/models/kws/versions/one", None, {400}, "version"),
    ("version-text-predict", "POST", "/v1/models/kws/versions/-1:predict", {"instances": [1]}, {400}, "version"),
    ("get-predict", "GET", "/v1/models/kws:predict", None, {400}, "POST"),
    ("post-status", "POST", "/v1/models/kws", {"instances": [1]}, {400}, "GET"),
    ("delete", "DELETE", "/v1/models/kws", None, {400}, "GET"),
    ("status-unknown", "GET", "/v1/models/nope", None, {404}, "model"),
    ("metadata-unknown", "GET", "/v1/models/nope/metadata", None, {404}, "model"),
    ("metadata-version", "GET", "/v1/models/kws/versions/3/metadata", None, {404}, "version"),
    *[(f"sep-{i}", "POST", "/v1/models/sep:predict", body, {400}, "") for i, body in enumerate([
        {"signature_name": "separate", "inputs": {"mixture": [[0.1, 0.2]]}},
        {"signature_name": "separate", "inputs": {"mixture": [[0.1, 0.2]], "mixture_length": ["x"]}},
        {"signature_name": "separate", "instances": [{"mixture": "x", "mixture_length": 1}]}])],
    *[(f"tts-{i}", "POST", "/v1/models/tts:predict", body, {400}, "") for i, body in enumerate([
        {"signature_name": "synthesize", "instances": [1.5]}, {"signature_name": "synthesize", "instances": [["a"]]},
        {"signature_name": "synthesize", "inputs": {"text": [], "x": 1}}])],
]


def _grpc_call(server, channel, method, request):
    stubs = {"predict": prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict,
             "metadata": prediction_service_pb2_grpc.PredictionServiceStub(channel).GetModelMetadata,
             "status": model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus,
             "reload": model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest,
             "raw": channel.unary_unary("/tensorflow.serving.PredictionService/Predict")}
    try:
        stubs[method](request, timeout=30)
    except grpc.RpcError as exc:
        return exc.code().name, exc.details() or ""
    return "OK", ""


def _rest_call(port, method, path, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers or {})
    resp = conn.getresponse()
    payload = json.loads(resp.read())
    conn.close()
    return resp.status, payload


def test_corpus_size():
    assert len(grpc_cases()) + len(REST_CASES) + 3 >= 200


def test_malformed_grpc(server, client):
    channel = grpc.insecure_channel(server.target, options=[("grpc.max_send_message_length", 64 << 20)])
    failures = []
    for case_id, method, request, codes, words in grpc_cases():
        code, details = _grpc_call(server, channel, method, request)
        if code not in codes or words.lower() not in details.lower() or not details:
            failures.append(f"{case_id}: {code} {details[:160]!r} (expected {sorted(codes)} with {words!r})")
    assert not failures, "\n".join(failures)
    text = server.metrics.render()
    assert 'code="INTERNAL"' not in text
    # Still answers, correctly.
    assert client.recognize("kws", np.zeros(T, np.float32) + 0.01)[0]["label"]


def test_malformed_rest(server, rest):
    failures = []
    for case_id, method, path, body, statuses, words in REST_CASES:
        status, payload = _rest_call(server.rest_api_port, method, path, body)
        msg = payload.get("error", "")
        if status not in statuses or words.lower() not in msg.lower() or not msg:
            failures.append(f"{case_id}: {status} {msg[:160]!r} (expected {statuses} with {words!r})")
    # Oversized bodies are refused from Content-Length, before reading them.
    status, payload = _rest_call(server.rest_api_port, "POST", "/v1/models/kws:predict", b"{}",
                                 headers={"Content-Length": str(10 ** 9)})
    if status != 413 or "too large" not in payload["error"]:
        failures.append(f"oversized: {status} {payload}")
    status, payload = _rest_call(server.rest_api_port, "POST", "/v1/models/kws:predict", b"{}",
                                 headers={"Content-Length": "abc"})
    if status != 400:
        failures.append(f"bad content-length: {status} {payload}")
    huge = {"signature_name": "recognize", "inputs": {"waveform": [[0.0] * 1_100_001], "waveform_length": [1]}}
    status, payload = _rest_call(server.rest_api_port, "POST", "/v1/models/kws:predict", huge)
    if status not in (413, 429):
        failures.append(f"huge body: {status} {payload['error'][:100]}")
    assert not failures, "\n".join(failures)
    assert 'code="INTERNAL"' not in server.metrics.render()
    status, body = rest("/v1/models/kws:predict", {"signature_name": "recognize",
                                                    "instances": [{"waveform": [0.01] * T, "waveform_length": T}]})
    assert status == 200 and len(body["predictions"][0]["scores"]) == 12
