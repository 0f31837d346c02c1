"""The real TextToSpeech task (a small random-weight FastSpeech + Griffin-Lim) exported with
export_saved_model and served over gRPC and REST on loopback: the served waveform equals the
in-process synthesize output, and bad text is refused with INVALID_ARGUMENT / 400."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tts_task():
    from conftest import make_synthesizer

    return make_synthesizer()


@pytest.fixture(scope="module")
def tts_server(tmp_path_factory, tts_task):
    from export.saved_model import export_saved_model
    from serving.client import Client
    from serving.config import ModelConfig
    from serving.server import ModelServer

    base = tmp_path_factory.mktemp("tts_models")
    export_saved_model(tts_task, base, model_name="tts")
    srv = ModelServer([ModelConfig("tts", str(base / "tts"))], port=0, rest_api_port=0, poll_wait_seconds=0).start()
    client = Client(srv.target, timeout=60)
    yield srv, client
    client.close()
    srv.stop(5)


def test_served_speech_equals_in_process(tts_server, tts_task):
    import json
    import urllib.request

    srv, client = tts_server
    text = "turn on the kitchen light"
    local = tts_task.predict_text(text)["waveform"]  # the traced synthesize graph, as exported
    n = local.size
    (served,) = client.synthesize("tts", text)
    assert served.shape == (n,)
    np.testing.assert_allclose(served, local, atol=1e-5)
    meta = client.metadata("tts")
    assert set(meta["signatures"]) == {"synthesize", "serving_default"}
    body = json.dumps({"signature_name": "synthesize", "instances": [text]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{srv.rest_api_port}/v1/models/tts:predict", data=body)
    with urllib.request.urlopen(req, timeout=60) as r:
        prediction = json.loads(r.read())["predictions"][0]
    assert prediction["waveform_length"] == n
    np.testing.assert_allclose(np.array(prediction["waveform"])[:n], served, atol=1e-5)


@pytest.mark.parametrize("text", [b"", b"   ", b"?!", b"x" * 1001])
def test_bad_text_is_invalid_argument(tts_server, text):
    from serving.errors import ServingError

    srv, client = tts_server
    with pytest.raises(ServingError) as info:
        client.predict("tts", {"text": np.array([text], dtype=object)}, signature="synthesize")
    assert info.value.code == "INVALID_ARGUMENT"
    (ok,) = client.synthesize("tts", "yes")  # still serving
    assert ok.size > 0
