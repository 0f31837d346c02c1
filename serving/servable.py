"""Servable: one loaded SavedModel version: its signatures, their input specs, request validation,
warmup from assets.extra, and execution (directly or through a Batcher)."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path

import numpy as np

from serving.errors import ServingError
from serving.tensors import dtype_name

WARMUP_PATH = Path("assets.extra") / "tf_serving_warmup_requests"
PREDICT_METHOD = "tensorflow/serving/predict"


def _tf_error_code(exc) -> str:
    import tensorflow as tf

    if isinstance(exc, (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError)):
        return "INVALID_ARGUMENT"
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return "RESOURCE_EXHAUSTED"
    return "INTERNAL"


def _first_line(exc) -> str:
    """The sentence a user can act on from a TF error (assertion text, else the op's message)."""
    msg = getattr(exc, "message", None) or str(exc)
    m = re.search(r"assertion failed: \[(.*?)\](?: \[|$)", msg, re.S)
    if m:
        return m.group(1).replace("\\'", "'")
    lines = [ln.strip() for ln in msg.splitlines()
             if ln.strip() and not ln.strip().startswith(("[[", "Detected at node", "<stack", "Graph execution error"))]
    line = lines[-1] if lines else msg.strip()
    return re.sub(r"\s*\[\[\{\{node .*$|\s*\[Op:.*$", "", line)[:500]


def signature_caller(fn, input_names):
    """A callable `inputs dict of tensors -> outputs dict` for a loaded signature.

    The public `fn(**inputs)` re-binds the structured signature and maps every captured variable
    through distribution-strategy checks on each call, a noticeable share of a small model's call.
    The server validated dtypes and shapes already and runs outside any strategy or gradient tape,
    so it calls the traced function with its flat inputs. Falls back to the public call where
    TensorFlow lacks those internals."""
    atomic = getattr(fn, "_inference_function", None)
    order = list(getattr(fn, "_arg_keywords", None) or [])
    if atomic is None or not hasattr(atomic, "call_preflattened") or sorted(order) != sorted(input_names):
        return lambda inputs: fn(**inputs)
    captured = list(fn.captured_inputs)
    return lambda inputs: atomic.call_preflattened([inputs[k] for k in order] + captured)


class Servable:
    """A loaded version. `predict(signature, inputs, deadline)` is thread-safe."""

    def __init__(self, name: str, version: int, path, *, batching=None, max_elements: int = 1 << 24):
        import tensorflow as tf
        from tensorflow.core.protobuf import saved_model_pb2

        self.name, self.version, self.path = name, int(version), Path(path)
        self.max_elements = int(max_elements)
        self._module = tf.saved_model.load(str(self.path))
        self.signatures = dict(self._module.signatures)
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((self.path / "saved_model.pb").read_bytes())
        self.signature_defs = proto.meta_graphs[0].signature_def
        self.specs = {}
        for sig_name, fn in self.signatures.items():
            inputs = {k: (v.dtype.name if v.dtype != tf.string else "string",
                          None if v.shape.rank is None else tuple(v.shape.as_list()))
                      for k, v in fn.structured_input_signature[1].items()}
            method = self.signature_defs[sig_name].method_name if sig_name in self.signature_defs else PREDICT_METHOD
            self.specs[sig_name] = {"inputs": inputs, "outputs": sorted(fn.structured_outputs), "method": method}
        self._callers = {sig_name: signature_caller(fn, self.specs[sig_name]["inputs"])
                         for sig_name, fn in self.signatures.items()}
        meta_path = self.path / "metadata.json"
        self.metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        self._batchers = {}
        self._batching = batching
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ validation
    def signature_spec(self, signature_name: str) -> dict:
        name = signature_name or "serving_default"
        if name not in self.specs:
            raise ServingError("NOT_FOUND", f"model {self.name!r} version {self.version} has no signature {name!r}",
                               expected=", ".join(sorted(self.specs)), fix="pass one of the listed signature names")
        return self.specs[name]

    def validate(self, signature_name: str, inputs: dict) -> dict:
        spec = self.signature_spec(signature_name)["inputs"]
        missing = sorted(set(spec) - set(inputs))
        extra = sorted(set(inputs) - set(spec))
        if missing or extra:
            raise ServingError("INVALID_ARGUMENT", f"inputs do not match signature {signature_name!r}",
                               received=sorted(inputs), expected=sorted(spec),
                               fix=(f"missing {missing}" if missing else "") + (f" unknown {extra}" if extra else ""))
        batch = None
        for key, arr in inputs.items():
            want_dtype, want_shape = spec[key]
            got = dtype_name(arr)
            if got != want_dtype:
                raise ServingError("INVALID_ARGUMENT", f"input {key!r} has the wrong dtype", received=got, expected=want_dtype)
            if want_shape is not None:
                if arr.ndim != len(want_shape):
                    raise ServingError("INVALID_ARGUMENT", f"input {key!r} has the wrong rank",
                                       received=f"shape {list(arr.shape)}", expected=f"shape {list(want_shape)} (None = any)")
                for axis, (g, w) in enumerate(zip(arr.shape, want_shape)):
                    if w is not None and g != w:
                        raise ServingError("INVALID_ARGUMENT", f"input {key!r} has the wrong size on axis {axis}",
                                           received=list(arr.shape), expected=list(want_shape))
                if want_shape and want_shape[0] is None:
                    if batch is not None and arr.shape[0] != batch:
                        raise ServingError("INVALID_ARGUMENT", "inputs disagree on the batch size",
                                           received=f"{key!r} has {arr.shape[0]} rows, another input {batch}")
                    batch = arr.shape[0]
            if arr.size == 0:
                raise ServingError("INVALID_ARGUMENT", f"input {key!r} is empty", received=f"shape {list(arr.shape)}")
            if arr.size > self.max_elements:
                raise ServingError("RESOURCE_EXHAUSTED", f"input {key!r} is too large", received=f"{arr.size} elements",
                                   expected=f"at most {self.max_elements}")
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise ServingError("INVALID_ARGUMENT", f"input {key!r} has NaN or Inf values", fix="send finite samples")
        return spec

    # ------------------------------------------------------------------ execution
    def run(self, signature_name: str, inputs: dict) -> dict:
        """Call the signature on validated inputs (no batching)."""
        import tensorflow as tf

        call = self._callers[signature_name or "serving_default"]
        try:
            out = call({k: tf.constant(v) for k, v in inputs.items()})
        except (tf.errors.OpError, ValueError, TypeError) as exc:
            raise ServingError(_tf_error_code(exc) if isinstance(exc, tf.errors.OpError) else "INVALID_ARGUMENT",
                               f"{self.name}/{signature_name}: {_first_line(exc)}") from None
        return {k: v.numpy() for k, v in out.items()}

    def _admit(self, signature_name: str, inputs: dict, deadline: float | None) -> bool:
        """Validate a request; True when it goes through the batcher (batching on, every input batched)."""
        spec = self.validate(signature_name, inputs)
        if deadline is not None and time.monotonic() >= deadline:
            raise ServingError("DEADLINE_EXCEEDED", "the request's deadline passed before it ran")
        return self._batching is not None and all(s is not None and s and s[0] is None for _, s in spec.values())

    def predict(self, signature_name: str, inputs: dict, *, deadline: float | None = None) -> dict:
        signature_name = signature_name or "serving_default"
        if self._admit(signature_name, inputs, deadline):
            return self._batcher(signature_name).submit(inputs, deadline)
        return self.run(signature_name, inputs)

    async def predict_async(self, signature_name: str, inputs: dict, *, deadline: float | None = None,
                            executor=None) -> dict:
        """predict for an asyncio server: the model runs on a batch thread or on `executor`, never on
        the event loop, which stays free to parse and answer other requests meanwhile."""
        import asyncio

        signature_name = signature_name or "serving_default"
        loop = asyncio.get_running_loop()
        if not self._admit(signature_name, inputs, deadline):
            return await loop.run_in_executor(executor, self.run, signature_name, inputs)
        # No timer here: gRPC cancels this coroutine at the deadline, which cancels the queued Future
        # (a batch thread skips it), and a batch thread drops items whose deadline passed.
        return await asyncio.wrap_future(self._batcher(signature_name).enqueue(inputs, deadline), loop=loop)

    def _batcher(self, signature_name):
        from serving.batcher import Batcher

        with self._lock:
            if signature_name not in self._batchers:
                self._batchers[signature_name] = Batcher(
                    lambda inputs: self.run(signature_name, inputs), self._batching,
                    name=f"{self.name}/{self.version}/{signature_name}")
            return self._batchers[signature_name]

    def warmup(self) -> int:
        """Replay assets.extra/tf_serving_warmup_requests (PredictionLog TFRecords). Errors propagate."""
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_log_pb2

        from serving.tensors import proto_to_ndarray

        path = self.path / WARMUP_PATH
        if not path.is_file():
            return 0
        count = 0
        for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            log = prediction_log_pb2.PredictionLog()
            log.ParseFromString(raw)
            if log.WhichOneof("log_type") != "predict_log":
                continue  # TF Serving replays classify/regress logs too; this server has no such signatures
            req = log.predict_log.request
            inputs = {k: proto_to_ndarray(v, k, self.max_elements) for k, v in req.inputs.items()}
            sig = req.model_spec.signature_name or "serving_default"
            self.validate(sig, inputs)
            self.run(sig, inputs)
            count += 1
        return count

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            batchers, self._batchers = list(self._batchers.values()), {}
        for b in batchers:
            b.close(timeout)

    def __repr__(self):
        return f"Servable({self.name!r}, version={self.version})"


def rows(inputs: dict) -> int:
    return next(iter(inputs.values())).shape[0] if inputs else 0


def expected_elements(shape) -> int:
    return math.prod(d for d in shape if d is not None)
