"""The real TextToSpeech task served by the session server (conftest exports it with
export_saved_model; test_serving_endpoints compares its gRPC and REST output with in-process
synthesis): its metadata lists the text endpoints, and bad text is refused with INVALID_ARGUMENT / 400."""

import numpy as np
import pytest


def test_metadata_lists_the_text_endpoints(client):
    meta = client.metadata("tts")
    assert set(meta["signatures"]) == {"synthesize", "serving_default"}
    assert meta["signatures"]["synthesize"]["inputs"] == {"text": ("string", (None,))}


@pytest.mark.parametrize("text", [b"", b"   ", b"?!", b"x" * 1001])
def test_bad_text_is_invalid_argument(client, rest, text):
    from serving.errors import ServingError

    with pytest.raises(ServingError) as info:
        client.predict("tts", {"text": np.array([text], dtype=object)}, signature="synthesize")
    assert info.value.code == "INVALID_ARGUMENT"
    status, _ = rest("/v1/models/tts:predict", {"signature_name": "synthesize", "instances": [text.decode()]})
    assert status == 400
    (ok,) = client.synthesize("tts", "yes")  # still serving
    assert ok.size > 0
