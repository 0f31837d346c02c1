"""TF Serving's REST API over http.server: GET /v1/models/{name}[/versions/{v}|/labels/{l}][/metadata],
POST .../{name}[...]:predict (row "instances" or columnar "inputs"), plus /monitoring/prometheus/metrics,
/v1/health/ready (readiness) and /v1/health/live. Every error is a JSON {"error": "..."} with a 4xx/5xx."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


from serving.errors import ServingError
from serving.tensors import json_to_ndarray, ndarray_to_json
from zoo.errors import ZooError

log = logging.getLogger("serving")

_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                   r"(?P<tail>/metadata|:predict|:classify|:regress)?$")


def _rows_to_inputs(instances, spec, limit):
    if not isinstance(instances, list) or not instances:
        raise ServingError("INVALID_ARGUMENT", "\"instances\" must be a non-empty list", received=type(instances).__name__)
    names = sorted(spec)
    if all(isinstance(r, dict) and "b64" not in r for r in instances):
        keys = set(instances[0])
        if any(set(r) != keys for r in instances):
            raise ServingError("INVALID_ARGUMENT", "every instance must name the same inputs")
        columns = {k: [r[k] for r in instances] for k in keys}
    elif len(names) == 1:
        columns = {names[0]: instances}
    else:
        raise ServingError("INVALID_ARGUMENT", "instances must be objects naming the inputs",
                           expected=f"[{{{', '.join(repr(n) + ': ...' for n in names)}}}, ...]")
    return _columns_to_arrays(columns, spec, limit)


def _columns_to_arrays(columns, spec, limit):
    out = {}
    for k, v in columns.items():
        if k not in spec:
            raise ServingError("INVALID_ARGUMENT", f"unknown input {k!r}", expected=sorted(spec))
        out[k] = json_to_ndarray(v, k, spec[k][0], limit)
    return out


def _outputs_to_rows(outputs):
    if len(outputs) == 1:
        (name, v), = outputs.items()
        return ndarray_to_json(v, name)
    batch = max((v.shape[0] for v in outputs.values() if v.ndim), default=0)
    cols = {k: ndarray_to_json(v, k) for k, v in outputs.items()}
    return [{k: (cols[k][i] if outputs[k].ndim and outputs[k].shape[0] == batch else cols[k]) for k in cols}
            for i in range(batch)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zoo-serving"
    api = None  # set on the subclass by RestApi

    def log_message(self, fmt, *args):  # quiet: metrics carry the request log
        log.debug("rest: " + fmt, *args)

    def _send(self, status: int, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, exc: ServingError):
        self._send(exc.http_status, {"error": str(exc), "code": exc.code})

    def do_GET(self):
        self.api.handle(self, "GET")

    def do_POST(self):
        self.api.handle(self, "POST")

    def do_PUT(self):
        self.api.handle(self, "PUT")

    def do_DELETE(self):
        self.api.handle(self, "DELETE")


class RestApi:
    def __init__(self, server, host: str, port: int, *, max_body_bytes: int, timeout_s: float, max_concurrent: int):
        self.server = server
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._inflight = 0
        self._idle = threading.Condition()
        handler = type("Handler", (_Handler,), {"api": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="rest-api", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self, grace_s: float):
        """Stop accepting, then wait for in-flight requests (bounded by grace_s)."""
        self.httpd.shutdown()
        end = time.monotonic() + grace_s
        with self._idle:
            while self._inflight and time.monotonic() < end:
                self._idle.wait(0.05)
        self.httpd.server_close()

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: _Handler, method: str):
        t0 = time.perf_counter()
        model, what, code = "-", "other", "OK"
        with self._idle:
            self._inflight += 1
        try:
            path = req.path.split("?", 1)[0]
            if path in ("/monitoring/prometheus/metrics", "/metrics") and method == "GET":
                what = "metrics"
                return req._send(200, self.server.metrics.render(), "text/plain; version=0.0.4")
            if path in ("/v1/health/live", "/healthz") and method == "GET":
                what = "live"
                return req._send(200, {"status": "live"})
            if path in ("/v1/health/ready", "/readyz") and method == "GET":
                what = "ready"
                ready = self.server.manager.ready() and not self.server.draining
                code = "OK" if ready else "UNAVAILABLE"
                return req._send(200 if ready else 503, {"ready": ready})
            m = _PATH.match(path)
            if not m:
                raise ServingError("NOT_FOUND", f"unknown path {path[:200]!r}",
                                   expected="/v1/models/<name>[/versions/<v>|/labels/<l>][/metadata|:predict]")
            self.server.last_request_at = time.monotonic()  # a SIGTERM drain waits for clients to go quiet
            model = m["name"]
            version = m["version"]
            if version is not None:
                if not version.isdigit():
                    raise ServingError("INVALID_ARGUMENT", "version must be a positive integer", received=version[:50])
                version = int(version)
            tail = m["tail"] or ""
            what = tail.strip(":/") or "status"
            if tail in (":predict", ":classify", ":regress"):
                if method != "POST":
                    raise ServingError("INVALID_ARGUMENT", f"{tail} needs POST", received=method)
                body = self._read_json(req)
                if tail != ":predict":
                    self.server.manager.resolve(model, version, m["label"])
                    raise ServingError("UNIMPLEMENTED", f"{tail[1:]} is not implemented by this server", fix="use :predict")
                return req._send(200, self._predict(model, version, m["label"], body))
            if method != "GET":
                raise ServingError("INVALID_ARGUMENT", f"{path} answers GET", received=method)
            if tail == "/metadata":
                return req._send(200, self._metadata(model, version, m["label"]))
            return req._send(200, self._status(model, version, m["label"]))
        except ServingError as exc:
            code = exc.code
            req._error(exc)
        except ZooError as exc:
            code = "INVALID_ARGUMENT"
            req._send(400, {"error": str(exc), "code": code})
        except (BrokenPipeError, ConnectionResetError):
            code = "CANCELLED"
        except Exception as exc:
            code = "INTERNAL"
            log.exception("REST %s %s failed", method, req.path)
            req._send(500, {"error": f"{type(exc).__name__}: {exc}", "code": code})
        finally:
            self.server.metrics.observe("rest", model, what, code, time.perf_counter() - t0)
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def _read_json(self, req):
        raw_len = req.headers.get("Content-Length")
        if raw_len is None or not raw_len.strip().isdigit():
            raise ServingError("INVALID_ARGUMENT", "a Content-Length header is required", received=raw_len)
        n = int(raw_len)
        if n > self.max_body_bytes:
            if n <= 4 * self.max_body_bytes:  # read and drop it, so the client sees the 413, not a reset
                left = n
                while left > 0:
                    chunk = req.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    left -= len(chunk)
            req.close_connection = True  # an unread body must not be parsed as the next request
            raise ServingError("RESOURCE_EXHAUSTED", "request body too large", http_status=413, received=f"{n} bytes",
                               expected=f"at most {self.max_body_bytes}", fix="send fewer or shorter inputs, or use gRPC")
        raw = req.rfile.read(n)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServingError("INVALID_ARGUMENT", "request body is not valid JSON", received=str(exc)[:200]) from None
        if not isinstance(body, dict):
            raise ServingError("INVALID_ARGUMENT", "request body must be a JSON object", received=type(body).__name__)
        return body

    def _predict(self, model, version, label, body):
        allowed = {"signature_name", "instances", "inputs"}
        if set(body) - allowed:
            raise ServingError("INVALID_ARGUMENT", "unknown request keys", received=sorted(set(body) - allowed),
                               expected=sorted(allowed))
        if ("instances" in body) == ("inputs" in body):
            raise ServingError("INVALID_ARGUMENT", "send exactly one of \"instances\" (row) or \"inputs\" (columnar)")
        signature = body.get("signature_name") or "serving_default"
        if not isinstance(signature, str):
            raise ServingError("INVALID_ARGUMENT", "signature_name must be a string")
        servable = self.server.manager.resolve(model, version, label)
        spec = servable.signature_spec(signature)["inputs"]
        limit = self.server.max_elements
        if "instances" in body:
            inputs = _rows_to_inputs(body["instances"], spec, limit)
        else:
            cols = body["inputs"]
            if not isinstance(cols, dict):
                if len(spec) != 1:
                    raise ServingError("INVALID_ARGUMENT", "\"inputs\" must be an object naming the inputs", expected=sorted(spec))
                cols = {next(iter(spec)): cols}
            inputs = _columns_to_arrays(cols, spec, limit)
        if not self._slots.acquire(blocking=False):
            raise ServingError("RESOURCE_EXHAUSTED", "too many concurrent REST requests", fix="retry with backoff")
        try:
            _, signature, outputs = self.server.predict(model, servable.version, None, signature, inputs, [],
                                                        time.monotonic() + self.timeout_s, servable=servable)
        finally:
            self._slots.release()
        if "instances" in body:
            return {"predictions": _outputs_to_rows(outputs)}
        if len(outputs) == 1:
            (name, v), = outputs.items()
            return {"outputs": ndarray_to_json(v, name)}
        return {"outputs": {k: ndarray_to_json(v, k) for k, v in outputs.items()}}

    def _metadata(self, model, version, label):
        from google.protobuf import json_format

        servable = self.server.manager.resolve(model, version, label)
        sig_defs = {k: json_format.MessageToDict(v) for k, v in servable.signature_defs.items() if not k.startswith("__")}
        return {"model_spec": {"name": model, "signature_name": "", "version": str(servable.version)},
                "metadata": {"signature_def": {"signature_def": sig_defs}, "zoo_metadata": servable.metadata}}

    def _status(self, model, version, label):
        if label:
            version = self.server.manager.resolve(model, None, label).version
        return {"model_version_status": [
            {"version": str(v), "state": st.state,
             "status": {"error_code": st.error_code, "error_message": st.error_message}}
            for v, st in self.server.manager.status(model, version)]}


__all__ = ["RestApi"]
