"""Serving fixtures: one random-weight Task per endpoint kind (the KWS DS-CNN preset, the Conv-TasNet
separation preset, a small FastSpeech + Griffin-Lim TextToSpeech), each exported once per session
with export_saved_model and served on loopback."""

import json
import socket

import keras
import numpy as np
import pytest

KWS = "kws_dscnn_small_synth"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_kws_task(seed=0):
    from zoo.presets import build_task, get_preset

    keras.utils.set_random_seed(seed)
    task = build_task(get_preset(KWS))
    task.head.kernel.assign(task.head.kernel.numpy() * 20.0)  # contrast, so argmax is stable
    return task


def export_kws(task, base, version):
    from export.saved_model import export_saved_model

    return export_saved_model(task, base, model_name="kws", version=version)


SEPARATOR = "sep_convtasnet_small_2spk"


def make_separator(seed=1):
    from zoo.presets import build_task, get_preset

    keras.utils.set_random_seed(seed)
    return build_task(get_preset(SEPARATOR))


def make_synthesizer(seed=3):
    """A small random-weight FastSpeech with 2 Griffin-Lim iterations (tests/conftest.py)."""
    from tests.conftest import small_tts_task

    return small_tts_task(seed, iterations=2, name="tts_real")


@pytest.fixture(scope="session")
def kws_task():
    return make_kws_task()


@pytest.fixture(scope="session")
def separator():
    return make_separator()


@pytest.fixture(scope="session")
def synthesizer():
    return make_synthesizer()


@pytest.fixture(scope="session")
def model_root(tmp_path_factory, kws_task, separator, synthesizer):
    from export.saved_model import export_saved_model

    base = tmp_path_factory.mktemp("models")
    export_kws(kws_task, base, 1)
    export_saved_model(separator, base, model_name="sep")
    export_saved_model(synthesizer, base, model_name="tts")
    return base


@pytest.fixture(scope="session")
def model_configs(model_root):
    from serving.config import ModelConfig

    return [ModelConfig("kws", str(model_root / "kws"), labels={"stable": 1}),
            ModelConfig("sep", str(model_root / "sep")), ModelConfig("tts", str(model_root / "tts"))]


@pytest.fixture(scope="session")
def server(model_configs):
    from serving.server import ModelServer

    srv = ModelServer(model_configs, port=0, rest_api_port=0, poll_wait_seconds=0,
                      max_message_bytes=4 << 20, max_concurrent_requests=32).start()
    yield srv
    srv.stop(5)


@pytest.fixture(scope="session")
def client(server):
    from serving.client import Client

    c = Client(server.target, timeout=20)
    yield c
    c.close()


@pytest.fixture(scope="session")
def rest(server):
    import urllib.error
    import urllib.request

    base = f"http://127.0.0.1:{server.rest_api_port}"

    def call(path, body=None, method=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(base + path, data=data, method=method or ("POST" if data is not None else "GET"))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text.decode())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    return call
