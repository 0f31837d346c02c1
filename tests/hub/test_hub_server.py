"""zoo.hub_server.HubServer: a hub folder over loopback HTTP with byte ranges, and nothing outside it."""

import http.client

import pytest

from tests.hub.conftest import random_bytes, write_hub
from zoo.errors import HubError
from zoo.hub_server import HubServer

DATA = random_bytes(5000, 7)


@pytest.fixture
def server(tmp_path):
    write_hub(tmp_path / "hub", {"p": {"model.weights.h5": DATA}})
    (tmp_path / "secret.txt").write_text("outside the hub")
    (tmp_path / "hub" / "p" / "model.weights.h5.part").write_bytes(b"partial")
    with HubServer(tmp_path / "hub") as s:
        yield s


def _get(server, path, headers=None, method="GET"):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_binds_loopback_and_serves_whole_files(server):
    assert server.server_address[0] == "127.0.0.1"
    resp, body = _get(server, "/p/model.weights.h5")
    assert resp.status == 200 and body == DATA
    assert resp.headers["Content-Length"] == "5000" and resp.headers["Accept-Ranges"] == "bytes"
    resp, body = _get(server, "/index.json")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json" and b'"p"' in body
    resp, body = _get(server, "/p/model.weights.h5", method="HEAD")
    assert resp.status == 200 and body == b"" and resp.headers["Content-Length"] == "5000"


@pytest.mark.parametrize("header, start, end", [
    ("bytes=1000-", 1000, 4999), ("bytes=10-19", 10, 19), ("bytes=-100", 4900, 4999),
    ("bytes=4999-", 4999, 4999), ("bytes=0-999999", 0, 4999),
])
def test_byte_ranges(server, header, start, end):
    resp, body = _get(server, "/p/model.weights.h5", {"Range": header})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/5000"
    assert body == DATA[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=5000-", "bytes=20-10", "bytes=-", "items=0-1", "bytes=1-2,5-6"])
def test_unsatisfiable_ranges_get_416(server, header):
    resp, _ = _get(server, "/p/model.weights.h5", {"Range": header})
    assert resp.status == 416 and resp.headers["Content-Range"] == "bytes */5000"


@pytest.mark.parametrize("path", ["/../secret.txt", "/p/../../secret.txt", "/%2e%2e/secret.txt", "/p",
                                  "/p/model.weights.h5.part", "/missing", "/"])
def test_nothing_outside_the_hub_folder_and_no_partial_files(server, path):
    resp, body = _get(server, path)
    assert resp.status == 404 and b"outside the hub" not in body


def test_a_missing_folder_is_a_hub_error(tmp_path):
    with pytest.raises(HubError, match="hub folder not found"):
        HubServer(tmp_path / "nope")


def test_serve_hub_runs_until_interrupted_and_serves_pulls(tmp_path):
    """What `zoo hub serve DIR --port P` runs: a mirror that a pull verifies against."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from zoo import hub

    write_hub(tmp_path / "hub", {"p": {"model.weights.h5": DATA}})
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        # SIGINT back to Python's default: a runner started in the background (`cmd &`) passes it on ignored
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "from zoo.hub_server import serve_hub; serve_hub(sys.argv[1], port=0)", str(tmp_path / "hub")], cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving ") and "ZOO_HUB_URL=http://127.0.0.1:" in line, proc.stderr.read()
        url = line.rsplit("ZOO_HUB_URL=", 1)[1].strip(" )\n")
        folder = hub.pull("p", hub_url=url, cache_dir=tmp_path / "cache", progress=False)
        assert (folder / "model.weights.h5").read_bytes() == DATA
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "GET /p/model.weights.h5" in err
