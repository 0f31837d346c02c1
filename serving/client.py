"""Client: a typed client on the standard PredictionServiceStub / ModelServiceStub. It reads each
model's signature schema from GetModelMetadata (and the zoo's metadata.json through the
`zoo_metadata` field where the server has it), resamples or refuses audio at the wrong rate, sets a
deadline on every call and retries UNAVAILABLE with exponential backoff. Works unchanged against
tensorflow_model_server (pass model_sample_rates there: it has no zoo_metadata)."""

from __future__ import annotations

import json
import time

import numpy as np

from serving.errors import ServingError
from serving.tensors import DTYPE_NAMES
from zoo.errors import AudioError

RETRYABLE = ("UNAVAILABLE",)


class Client:
    def __init__(self, target: str, *, timeout: float = 10.0, retries: int = 4, backoff_s: float = 0.05,
                 max_message_bytes: int = 64 << 20, model_sample_rates: dict | None = None):
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.target = target
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self._channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", max_message_bytes),
                                                               ("grpc.max_send_message_length", max_message_bytes)])
        self._predict_stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._model_stub = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._sample_rates = dict(model_sample_rates or {})
        self._metadata: dict = {}

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ transport
    def _rpc(self, method, request, timeout=None):
        import grpc

        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        for attempt in range(self.retries + 1):
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise ServingError("DEADLINE_EXCEEDED", f"{self.target}: no answer within {timeout:.1f}s")
            try:
                return method(request, timeout=remaining)
            except grpc.RpcError as exc:
                code = exc.code().name
                if code in RETRYABLE and attempt < self.retries:
                    time.sleep(min(self.backoff_s * 2 ** attempt, max(0.0, end - time.monotonic())))
                    continue
                raise ServingError(code, f"{self.target}: {exc.details()}") from None

    @staticmethod
    def _spec(proto, model, version=None, label=None, signature=None):
        proto.name = model
        if version is not None:
            proto.version.value = int(version)
        if label:
            proto.version_label = label
        if signature:
            proto.signature_name = signature

    # ------------------------------------------------------------------ generic API
    def predict(self, model: str, inputs: dict, *, signature: str = "serving_default", version=None, label=None,
                output_filter=None, timeout=None) -> dict:
        from tensorflow_serving.apis import predict_pb2

        from serving.tensors import ndarray_to_proto, proto_to_ndarray

        req = predict_pb2.PredictRequest()
        self._spec(req.model_spec, model, version, label, signature)
        for k, v in inputs.items():
            arr = np.asarray(v) if not isinstance(v, (list, tuple)) or not v or not isinstance(v[0], (str, bytes)) \
                else np.array([s.encode() if isinstance(s, str) else s for s in v], dtype=object)
            ndarray_to_proto(arr, req.inputs[k])
        req.output_filter.extend(output_filter or [])
        resp = self._rpc(self._predict_stub.Predict, req, timeout)
        return {k: proto_to_ndarray(v, k, 1 << 40) for k, v in resp.outputs.items()}

    def metadata(self, model: str, *, version=None, refresh: bool = False) -> dict:
        """{"version", "signatures": {name: {"inputs": {n: (dtype, shape)}, "outputs": {...}, "method"}}, "zoo": {...}}"""
        key = (model, version)
        if key in self._metadata and not refresh:
            return self._metadata[key]
        from google.protobuf import wrappers_pb2
        from tensorflow_serving.apis import get_model_metadata_pb2

        def request(fields):
            req = get_model_metadata_pb2.GetModelMetadataRequest()
            self._spec(req.model_spec, model, version)
            req.metadata_field.extend(fields)
            return self._rpc(self._predict_stub.GetModelMetadata, req)

        try:
            resp = request(["signature_def", "zoo_metadata"])
        except ServingError as exc:
            if exc.code != "INVALID_ARGUMENT":
                raise
            resp = request(["signature_def"])  # tensorflow_model_server knows only signature_def
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        resp.metadata["signature_def"].Unpack(sig_map)

        def tensors(m):
            return {k: (DTYPE_NAMES.get(t.dtype, str(t.dtype)),
                        None if t.tensor_shape.unknown_rank else tuple(d.size if d.size >= 0 else None for d in t.tensor_shape.dim))
                    for k, t in m.items()}

        out = {"version": resp.model_spec.version.value, "signatures": {
            k: {"inputs": tensors(s.inputs), "outputs": tensors(s.outputs), "method": s.method_name}
            for k, s in sig_map.signature_def.items()}, "zoo": {}}
        if "zoo_metadata" in resp.metadata:
            value = wrappers_pb2.StringValue()
            resp.metadata["zoo_metadata"].Unpack(value)
            out["zoo"] = json.loads(value.value)
        self._metadata[key] = out
        return out

    def status(self, model: str, *, version=None) -> list[dict]:
        from tensorflow_serving.apis import get_model_status_pb2

        req = get_model_status_pb2.GetModelStatusRequest()
        self._spec(req.model_spec, model, version)
        resp = self._rpc(self._model_stub.GetModelStatus, req)
        return [{"version": s.version, "state": get_model_status_pb2.ModelVersionStatus.State.Name(s.state),
                 "error_message": s.status.error_message} for s in resp.model_version_status]

    def reload(self, config_text: str) -> None:
        """HandleReloadConfigRequest with a models.config text."""
        from google.protobuf import text_format
        from tensorflow_serving.apis import model_management_pb2

        req = model_management_pb2.ReloadConfigRequest()
        text_format.Parse(config_text, req.config)
        self._rpc(self._model_stub.HandleReloadConfigRequest, req)

    def health(self, service: str = "", timeout: float = 2.0) -> bool:
        """grpc.health.v1 Check: True when SERVING."""
        import grpc

        raw = service.encode()
        method = self._channel.unary_unary("/grpc.health.v1.Health/Check",
                                           request_serializer=lambda s: (b"\x0a" + bytes([len(s)]) + s) if s else b"",
                                           response_deserializer=lambda b: b)
        try:
            resp = method(raw, timeout=timeout)
        except grpc.RpcError:
            return False
        return resp == b"\x08\x01"

    # ------------------------------------------------------------------ audio helpers
    def sample_rate(self, model: str) -> int:
        if model in self._sample_rates:
            return self._sample_rates[model]
        rate = self.metadata(model)["zoo"].get("sample_rate")
        if not rate:
            raise AudioError(f"the server does not say model {model!r}'s sample rate",
                             fix=f"pass Client(..., model_sample_rates={{'{model}': RATE}})")
        return int(rate)

    def _audio_batch(self, model, audio, sample_rate, resample):
        from zoo.audio import resample as resample_fn

        if isinstance(audio, np.ndarray) and audio.ndim == 1 or (
                not isinstance(audio, np.ndarray) and len(audio) and np.isscalar(audio[0])):
            rows = [np.asarray(audio, np.float32)]
        else:
            rows = [np.asarray(a, np.float32) for a in audio]
        if not rows or any(r.ndim != 1 or r.size == 0 for r in rows):
            raise AudioError("audio must be a non-empty 1-D waveform or a list of them",
                             received=[r.shape for r in rows][:4])
        rate = self.sample_rate(model)
        if sample_rate is not None and int(sample_rate) != rate:
            if not resample:
                raise AudioError(f"audio at {sample_rate} Hz but model {model!r} expects {rate} Hz",
                                 fix="resample it, or pass resample=True")
            rows = [resample_fn(r, int(sample_rate), rate).astype(np.float32) for r in rows]
        lengths = np.array([r.size for r in rows], np.int32)
        batch = np.zeros((len(rows), lengths.max()), np.float32)
        for i, r in enumerate(rows):
            batch[i, :r.size] = r
        return batch, lengths

    def _endpoint(self, model, endpoint):
        sigs = self.metadata(model)["signatures"]
        if endpoint not in sigs:
            raise ServingError("NOT_FOUND", f"model {model!r} has no {endpoint!r} signature", expected=sorted(sigs))
        return endpoint

    def recognize(self, model: str, audio, sample_rate: int | None = None, *, resample: bool = True,
                  timeout=None) -> list[dict]:
        """One dict per waveform: label, label_id, score, scores (classifiers); raw outputs otherwise."""
        sig = self._endpoint(model, "recognize")
        waveform, lengths = self._audio_batch(model, audio, sample_rate, resample)
        out = self.predict(model, {"waveform": waveform, "waveform_length": lengths}, signature=sig, timeout=timeout)
        if "scores" in out:
            return [{"label": out["labels"][i].decode(), "label_id": int(out["label_ids"][i]),
                     "score": float(out["scores"][i, out["label_ids"][i]]), "scores": out["scores"][i]}
                    for i in range(len(lengths))]
        return [{k: (v[i] if np.ndim(v) and v.shape[0] == len(lengths) else v) for k, v in out.items()}
                for i in range(len(lengths))]

    def recognize_wav(self, model: str, wav_bytes_list, *, timeout=None) -> list[dict]:
        """Send WAV file bytes to the `recognize_wav` endpoint (decoded in the graph)."""
        sig = self._endpoint(model, "recognize_wav")
        out = self.predict(model, {"wav": np.array(list(wav_bytes_list), dtype=object)}, signature=sig, timeout=timeout)
        return [{"label": out["labels"][i].decode(), "label_id": int(out["label_ids"][i]),
                 "score": float(out["scores"][i, out["label_ids"][i]])} for i in range(len(out["labels"]))]

    def separate(self, model: str, mixture, sample_rate: int | None = None, *, resample: bool = True,
                 timeout=None) -> list[np.ndarray]:
        """One [sources, time] array per mixture, trimmed to the mixture's length."""
        sig = self._endpoint(model, "separate")
        batch, lengths = self._audio_batch(model, mixture, sample_rate, resample)
        out = self.predict(model, {"mixture": batch, "mixture_length": lengths}, signature=sig, timeout=timeout)
        return [out["sources"][i, :, :n] for i, n in enumerate(lengths)]

    def synthesize(self, model: str, text, *, timeout=None) -> list[np.ndarray]:
        """One waveform per text (at `sample_rate(model)`), trimmed to waveform_length."""
        sig = self._endpoint(model, "synthesize")
        texts = [text] if isinstance(text, str) else list(text)
        if not texts or any(not isinstance(t, str) or not t for t in texts):
            raise ServingError("INVALID_ARGUMENT", "text must be a non-empty string or list of them")
        out = self.predict(model, {"text": np.array([t.encode() for t in texts], dtype=object)}, signature=sig,
                           timeout=timeout)
        return [out["waveform"][i, :n] for i, n in enumerate(out["waveform_length"])]
