"""Serving fixtures: one small random-weight KWS preset exported once per session, plus minimal
separation and synthesis SavedModels (stand-ins until those families land), served on loopback."""

import json
import socket

import keras
import numpy as np
import pytest
import tensorflow as tf

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


class MinimalSeparator(keras.Model):
    """mixture [B, T] -> sources [B, 2, T]: one Conv1D with 2 filters (a stand-in separation Task)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv1D(2, 9, padding="same")

    def call(self, mixture):
        return tf.transpose(self.conv(mixture[..., None]), [0, 2, 1])


class MinimalSynthesizer(keras.Model):
    """text [B] -> waveform [B, 160 * chars]: each character's code point through a Dense(160) + tanh."""

    hop = 160

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(self.hop, activation="tanh")

    def call(self, codes):  # codes: float32 [B, L]
        frames = self.dense(codes[..., None])
        return tf.reshape(frames, [tf.shape(codes)[0], -1])


def synth_codes(text):
    ragged = tf.strings.unicode_decode(text, "UTF-8")
    return tf.cast(ragged.to_tensor(), tf.float32) / 128.0, tf.cast(ragged.row_lengths(), tf.int32)


def _write_meta(path, kind, signature, sample_rate):
    meta = {"format": "saved_model", "task_kind": kind, "sample_rate": sample_rate,
            "signatures": {signature.endpoint: signature.to_json(),
                           "serving_default": dict(signature.to_json(), endpoint="serving_default")}}
    (path / "metadata.json").write_text(json.dumps(meta))


def export_separator(model, base, version=1):
    from zoo.signatures import separation_signature

    def separate(mixture, mixture_length):
        mask = tf.range(tf.shape(mixture)[1])[None, :] < mixture_length[:, None]
        sources = model(tf.where(mask, mixture, 0.0))
        return {"sources": tf.where(mask[:, None, :], sources, 0.0)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    sig = [tf.TensorSpec([None, None], tf.float32, name="mixture"), tf.TensorSpec([None], tf.int32, name="mixture_length")]
    archive.add_endpoint("separate", separate, input_signature=sig)
    archive.add_endpoint("serving_default", separate, input_signature=sig)
    path = base / "sep" / str(version)
    archive.write_out(str(path), verbose=False)
    _write_meta(path, "separation", separation_signature(2), 8000)
    return path


def export_synthesizer(model, base, version=1):
    from zoo.signatures import synthesis_signature

    def synthesize(text):
        codes, n = synth_codes(text)
        return {"waveform": model(codes), "waveform_length": n * model.hop}

    archive = keras.export.ExportArchive()
    archive.track(model)
    sig = [tf.TensorSpec([None], tf.string, name="text")]
    archive.add_endpoint("synthesize", synthesize, input_signature=sig)
    archive.add_endpoint("serving_default", synthesize, input_signature=sig)
    path = base / "tts" / str(version)
    archive.write_out(str(path), verbose=False)
    _write_meta(path, "synthesis", synthesis_signature(), 16000)
    return path


@pytest.fixture(scope="session")
def kws_task():
    return make_kws_task()


@pytest.fixture(scope="session")
def separator():
    keras.utils.set_random_seed(1)
    model = MinimalSeparator()
    model(np.zeros((1, 100), np.float32))
    return model


@pytest.fixture(scope="session")
def synthesizer():
    keras.utils.set_random_seed(2)
    model = MinimalSynthesizer()
    model(np.zeros((1, 3), np.float32))
    return model


@pytest.fixture(scope="session")
def model_root(tmp_path_factory, kws_task, separator, synthesizer):
    base = tmp_path_factory.mktemp("models")
    export_kws(kws_task, base, 1)
    export_separator(separator, base)
    export_synthesizer(synthesizer, base)
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
