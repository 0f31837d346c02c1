"""Metrics: Prometheus text exposition of request counts, errors and latency histograms per model
and signature (served on REST at /monitoring/prometheus/metrics, TF Serving's path)."""

from __future__ import annotations

import bisect
import threading

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(d: dict) -> str:
    return ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in d.items())


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._requests: dict[tuple, int] = {}  # (api, model, signature, code) -> count
        self._hist: dict[tuple, list] = {}  # (api, model, signature) -> [bucket counts..., sum, count]
        self._events: dict[tuple, int] = {}  # (event, model) -> count

    def observe(self, api: str, model: str, signature: str, code: str, seconds: float) -> None:
        with self._lock:
            key = (api, model, signature, code)
            self._requests[key] = self._requests.get(key, 0) + 1
            h = self._hist.setdefault((api, model, signature), [0] * (len(BUCKETS) + 2))
            h[bisect.bisect_left(BUCKETS, seconds)] += 1  # index len(BUCKETS) is the +Inf overflow
            h[-2] += seconds
            h[-1] += 1

    def event(self, name: str, model: str, version=None) -> None:
        with self._lock:
            self._events[(name, model)] = self._events.get((name, model), 0) + 1

    def request_count(self, model: str, code: str | None = None) -> int:
        with self._lock:
            return sum(n for (_, m, _, c), n in self._requests.items() if m == model and (code is None or c == code))

    def render(self) -> str:
        with self._lock:
            out = ["# HELP zoo_serving_requests_total Requests by API, model, signature and status code.",
                   "# TYPE zoo_serving_requests_total counter"]
            for (api, model, sig, code), n in sorted(self._requests.items()):
                out.append(f"zoo_serving_requests_total{{{_labels(dict(api=api, model=model, signature=sig, code=code))}}} {n}")
            out += ["# HELP zoo_serving_request_errors_total Requests that did not succeed.",
                    "# TYPE zoo_serving_request_errors_total counter"]
            errors: dict = {}
            for (api, model, sig, code), n in self._requests.items():
                if code != "OK":
                    errors[(api, model, sig)] = errors.get((api, model, sig), 0) + n
            for (api, model, sig), n in sorted(errors.items()):
                out.append(f"zoo_serving_request_errors_total{{{_labels(dict(api=api, model=model, signature=sig))}}} {n}")
            out += ["# HELP zoo_serving_request_latency_seconds Request latency inside the server.",
                    "# TYPE zoo_serving_request_latency_seconds histogram"]
            for (api, model, sig), h in sorted(self._hist.items()):
                base = dict(api=api, model=model, signature=sig)
                cum = 0
                for le, n in zip(BUCKETS + ("+Inf",), h[:len(BUCKETS) + 1]):
                    cum += n
                    out.append(f"zoo_serving_request_latency_seconds_bucket{{{_labels(dict(base, le=le))}}} {cum}")
                out.append(f"zoo_serving_request_latency_seconds_sum{{{_labels(base)}}} {h[-2]:.6f}")
                out.append(f"zoo_serving_request_latency_seconds_count{{{_labels(base)}}} {h[-1]}")
            out += ["# HELP zoo_serving_model_events_total Version loads, refusals and unloads.",
                    "# TYPE zoo_serving_model_events_total counter"]
            for (name, model), n in sorted(self._events.items()):
                out.append(f"zoo_serving_model_events_total{{{_labels(dict(model=model, event=name))}}} {n}")
            return "\n".join(out) + "\n"
