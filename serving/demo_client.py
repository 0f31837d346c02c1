"""Helpers for `make demo` (training/demo.py): start a server on exported models in a subprocess,
query every WAV over gRPC, shut the server down cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_config_file, *, port: int | None = None, rest_api_port: int | None = None,
                 timeout_s: float = 120.0, log_path=None) -> tuple[subprocess.Popen, str]:
    """`python -m serving` in a subprocess; returns (process, "127.0.0.1:PORT") once it prints `ready`."""
    port = port or free_port()
    rest = rest_api_port if rest_api_port is not None else free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "serving", "--model_config_file", str(model_config_file),
                             "--port", str(port), "--rest_api_port", str(rest)],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    end = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < end and proc.poll() is None:
        line = proc.stdout.readline()
        if line.startswith("ready"):
            return proc, f"127.0.0.1:{port}"
    proc.kill()
    raise RuntimeError(f"the model server did not start (exit code {proc.poll()}, last line {line!r})")


def stop_server(proc: subprocess.Popen, timeout_s: float = 30.0) -> int:
    """SIGTERM (drains in-flight requests), then wait; kill only if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    return proc.returncode


def query_all(target: str, wav_paths, model: str, *, timeout: float = 10.0) -> list[dict]:
    """recognize every file over gRPC: [{"file", "label", "score", "latency_ms"} or {"file", "error"}]."""
    from serving.client import Client
    from zoo.audio import read_audio
    from zoo.errors import ZooError

    out = []
    with Client(target, timeout=timeout) as client:
        for path in wav_paths:
            try:
                audio, rate = read_audio(path, mono=True)
                t0 = time.perf_counter()
                r = client.recognize(model, audio, sample_rate=rate)[0]
                out.append({"file": str(path), "label": r["label"], "score": r["score"],
                            "latency_ms": (time.perf_counter() - t0) * 1e3})
            except ZooError as exc:
                out.append({"file": str(path), "error": str(exc)})
    return out
