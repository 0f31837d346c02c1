"""TF Serving's gRPC services on the tensorflow-serving-api protos: PredictionService (Predict,
GetModelMetadata, Classify/Regress/MultiInference -> UNIMPLEMENTED) and ModelService (GetModelStatus,
HandleReloadConfigRequest), plus grpc.health.v1.Health/Check. Handlers are registered generically
with deserializers that never raise, so unparseable request bytes get INVALID_ARGUMENT, not INTERNAL.

The handlers are coroutines on a grpc.aio server: one event loop parses requests and writes
responses while models run on batch threads or the server's executor. A thread per request (the
sync server) spent its time handing the GIL around: benchmarks/serving_overhead.py measured batching
at 1.35x over no batching at concurrency 16 on 2 cores that way, against 1.5-1.6x on the event loop."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time

import grpc

from serving.errors import ServingError
from zoo.errors import ZooError
from serving.tensors import ndarray_to_proto, proto_to_ndarray

log = logging.getLogger("serving")

STATE_ENUM = {"START": 10, "LOADING": 20, "AVAILABLE": 30, "UNLOADING": 40, "END": 50}
HEALTH_SERVING, HEALTH_NOT_SERVING = 1, 2


class _BadRequest:
    def __init__(self, error):
        self.error = error


def _safe_deserializer(cls):
    def parse(raw: bytes):
        msg = cls()
        try:
            msg.ParseFromString(raw)
        except Exception as exc:  # DecodeError and friends: garbage on the wire
            return _BadRequest(f"request is not a valid {cls.DESCRIPTOR.full_name}: {exc}")
        return msg

    return parse


def _error_code_enum(code: str) -> int:
    from tensorflow.core.protobuf import error_codes_pb2

    return error_codes_pb2.Code.Value(code) if code in error_codes_pb2.Code.keys() else error_codes_pb2.UNKNOWN


def _model_spec(spec):
    version = spec.version.value if spec.HasField("version") else None
    return spec.name, version, (spec.version_label or None), spec.signature_name


class GrpcApi:
    """Handler functions bound to a ModelServer (serving/server.py)."""

    def __init__(self, server):
        self.server = server

    # ------------------------------------------------------------------ plumbing
    async def _call(self, method, request, context, fn, model="", signature=""):
        t0 = time.perf_counter()
        code = "OK"
        self.server.last_request_at = time.monotonic()  # a SIGTERM drain waits for clients to go quiet
        try:
            if isinstance(request, _BadRequest):
                raise ServingError("INVALID_ARGUMENT", request.error)
            remaining = context.time_remaining()  # ~infinity for a call without a deadline
            deadline = None if remaining is None else time.monotonic() + remaining
            result = fn(request, deadline)
            return (await result) if inspect.isawaitable(result) else result
        except ServingError as exc:
            code = exc.code
            await context.abort(getattr(grpc.StatusCode, exc.code), str(exc))
        except ZooError as exc:  # ConfigError from a reload request, AudioError, ...
            code = "INVALID_ARGUMENT"
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (grpc.RpcError, grpc.aio.AbortError, asyncio.CancelledError):
            code = "CANCELLED"
            raise
        except Exception as exc:
            code = "INTERNAL"
            log.exception("%s failed", method)
            await context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
        finally:
            if isinstance(request, _BadRequest):
                model_name = model
            else:
                spec = getattr(request, "model_spec", None)
                model_name = spec.name if spec is not None else model
                signature = spec.signature_name if spec is not None else signature
            self.server.metrics.observe("grpc", model_name or "-", f"{method}:{signature or 'serving_default'}"
                                        if method == "Predict" else method, code, time.perf_counter() - t0)

    # ------------------------------------------------------------------ PredictionService
    async def Predict(self, request, context):
        return await self._call("Predict", request, context, self._predict)

    async def _predict(self, request, deadline):
        from tensorflow_serving.apis import predict_pb2

        name, version, label, signature = _model_spec(request.model_spec)
        limit = self.server.max_elements
        inputs = {k: proto_to_ndarray(v, k, limit) for k, v in request.inputs.items()}
        servable, signature, outputs = await self.server.predict_async(
            name, version, label, signature, inputs, list(request.output_filter), deadline)
        resp = predict_pb2.PredictResponse()
        resp.model_spec.name = name
        resp.model_spec.version.value = servable.version
        resp.model_spec.signature_name = signature
        for k, v in outputs.items():
            ndarray_to_proto(v, resp.outputs[k])
        return resp

    async def GetModelMetadata(self, request, context):
        return await self._call("GetModelMetadata", request, context, self._metadata)

    def _metadata(self, request, deadline):
        from google.protobuf import wrappers_pb2
        from tensorflow_serving.apis import get_model_metadata_pb2

        name, version, label, _ = _model_spec(request.model_spec)
        fields = list(request.metadata_field)
        if not fields:
            raise ServingError("INVALID_ARGUMENT", "GetModelMetadataRequest names no metadata_field",
                               expected="signature_def (and optionally zoo_metadata)")
        unknown = [f for f in fields if f not in ("signature_def", "zoo_metadata")]
        if unknown:
            raise ServingError("INVALID_ARGUMENT", "unknown metadata_field", received=unknown,
                               expected="signature_def, zoo_metadata")
        servable = self.server.manager.resolve(name, version, label)
        resp = get_model_metadata_pb2.GetModelMetadataResponse()
        resp.model_spec.name = name
        resp.model_spec.version.value = servable.version
        if "signature_def" in fields:
            sig_map = get_model_metadata_pb2.SignatureDefMap()
            for key, sig in servable.signature_defs.items():
                if not key.startswith("__"):
                    sig_map.signature_def[key].CopyFrom(sig)
            resp.metadata["signature_def"].Pack(sig_map)
        if "zoo_metadata" in fields:
            resp.metadata["zoo_metadata"].Pack(wrappers_pb2.StringValue(value=json.dumps(servable.metadata)))
        return resp

    def _unimplemented(self, what, method_suffix):
        def handler(request, deadline):
            name, version, label, signature = _model_spec(request.model_spec)
            servable = self.server.manager.resolve(name, version, label)
            methods = {s: spec["method"] for s, spec in servable.specs.items()}
            if not any(m.endswith(method_suffix) for m in methods.values()):
                raise ServingError("UNIMPLEMENTED", f"model {name!r} has no {what} signature",
                                   received=methods, fix="use Predict")
            raise ServingError("UNIMPLEMENTED", f"{what} over tf.Example is not implemented by this server",
                               fix="use Predict, or tensorflow/serving for Example-based signatures")
        return handler

    async def Classify(self, request, context):
        return await self._call("Classify", request, context, self._unimplemented("Classify", "/classify"))

    async def Regress(self, request, context):
        return await self._call("Regress", request, context, self._unimplemented("Regress", "/regress"))

    async def MultiInference(self, request, context):
        def handler(request, deadline):
            raise ServingError("UNIMPLEMENTED", "MultiInference is not implemented by this server", fix="use Predict")
        return await self._call("MultiInference", request, context, handler)

    # ------------------------------------------------------------------ ModelService
    async def GetModelStatus(self, request, context):
        return await self._call("GetModelStatus", request, context, self._status)

    def _status(self, request, deadline):
        from tensorflow_serving.apis import get_model_status_pb2

        name, version, label, _ = _model_spec(request.model_spec)
        if label:
            version = self.server.manager.resolve(name, None, label).version
        resp = get_model_status_pb2.GetModelStatusResponse()
        for v, st in self.server.manager.status(name, version):
            entry = resp.model_version_status.add()
            entry.version = v
            entry.state = STATE_ENUM[st.state]
            entry.status.error_code = _error_code_enum(st.error_code)
            entry.status.error_message = st.error_message
        return resp

    async def HandleReloadConfigRequest(self, request, context):
        return await self._call("HandleReloadConfigRequest", request, context, self._reload)

    async def _reload(self, request, deadline):
        from tensorflow_serving.apis import model_management_pb2

        from serving.config import from_proto

        models = from_proto(request.config)  # ConfigError -> INVALID_ARGUMENT below
        # loading versions takes seconds: off the event loop
        await asyncio.get_running_loop().run_in_executor(None, self.server.reload, models)
        return model_management_pb2.ReloadConfigResponse()

    # ------------------------------------------------------------------ health
    async def HealthCheck(self, request, context):
        service = request if isinstance(request, str) else ""
        if isinstance(request, _BadRequest):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.error)
        known = {"", "tensorflow.serving.PredictionService", "tensorflow.serving.ModelService"}
        if service not in known and service not in self.server.manager.model_names():
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")
        ok = not self.server.draining and (self.server.manager.ready() if service in known else
                                           _model_ready(self.server.manager, service))
        return HEALTH_SERVING if ok else HEALTH_NOT_SERVING

    # ------------------------------------------------------------------ registration
    def handlers(self):
        from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                             inference_pb2, model_management_pb2, predict_pb2, regression_pb2)

        def unary(fn, req_cls):
            return grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=_safe_deserializer(req_cls), response_serializer=lambda m: m.SerializeToString())

        prediction = grpc.method_handlers_generic_handler("tensorflow.serving.PredictionService", {
            "Predict": unary(self.Predict, predict_pb2.PredictRequest),
            "GetModelMetadata": unary(self.GetModelMetadata, get_model_metadata_pb2.GetModelMetadataRequest),
            "Classify": unary(self.Classify, classification_pb2.ClassificationRequest),
            "Regress": unary(self.Regress, regression_pb2.RegressionRequest),
            "MultiInference": unary(self.MultiInference, inference_pb2.MultiInferenceRequest),
        })
        model = grpc.method_handlers_generic_handler("tensorflow.serving.ModelService", {
            "GetModelStatus": unary(self.GetModelStatus, get_model_status_pb2.GetModelStatusRequest),
            "HandleReloadConfigRequest": unary(self.HandleReloadConfigRequest, model_management_pb2.ReloadConfigRequest),
        })
        health = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": grpc.unary_unary_rpc_method_handler(
                self.HealthCheck, request_deserializer=_parse_health_request,
                response_serializer=lambda status: b"\x08" + bytes([status])),
        })
        return [prediction, model, health]


def _model_ready(manager, name) -> bool:
    try:
        return any(st.state == "AVAILABLE" for _, st in manager.status(name))
    except ServingError:
        return False


def _parse_health_request(raw: bytes):
    """grpc.health.v1.HealthCheckRequest{string service = 1} by hand (no grpcio-health-checking dependency)."""
    if not raw:
        return ""
    if raw[0] != 0x0A:
        return _BadRequest("HealthCheckRequest must hold only field 1 (service)")
    size, i, shift = 0, 1, 0
    while i < len(raw):
        b = raw[i]
        size |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            break
    try:
        return raw[i:i + size].decode()
    except UnicodeDecodeError:
        return _BadRequest("service name is not UTF-8")
