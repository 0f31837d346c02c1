"""The sequence recognize endpoint end to end: a random-weight SpeechRecognizer exported as a SavedModel,
served by the embedded server, queried over gRPC and REST; the served text equals in-process decoding."""

from __future__ import annotations

import keras
import numpy as np
import pytest

RATE = 16000


@pytest.fixture(scope="module")
def asr_task():
    from zoo.families.recognition.deepspeech2.deepspeech2_backbone import DeepSpeech2Backbone
    from zoo.frontends import LogMelSpectrogram
    from zoo.tasks.speech_recognizer import SpeechRecognizer

    keras.utils.set_random_seed(4)
    frontend = LogMelSpectrogram(sample_rate=RATE, frame_length=400, frame_step=160, fft_length=512,
                                 num_mel_bins=16, fmin=20.0, fmax=7600.0)
    backbone = DeepSpeech2Backbone(16, conv_filters=[4], conv_kernel_sizes=[[3, 3]], conv_strides=[[2, 2]],
                                   rnn_units=16, num_rnn_layers=1)
    return SpeechRecognizer(backbone, frontend, {"class_name": "CharTokenizer", "config": {"normalize": True}},
                            RATE, name="tiny_asr")


@pytest.fixture(scope="module")
def asr_client(asr_task, tmp_path_factory):
    from export.saved_model import export_saved_model
    from serving.client import Client
    from serving.config import ModelConfig
    from serving.server import ModelServer

    base = tmp_path_factory.mktemp("asr_models")
    export_saved_model(asr_task, base, model_name="asr")
    server = ModelServer([ModelConfig("asr", str(base / "asr"))], port=0, rest_api_port=0, poll_wait_seconds=0,
                         max_message_bytes=4 << 20, max_concurrent_requests=8).start()
    client = Client(server.target, timeout=30)
    yield client
    client.close()
    server.stop(5)


def test_grpc_recognize_text_equals_in_process(asr_client, asr_task):
    rng = np.random.default_rng(0)
    audio = [rng.uniform(-0.3, 0.3, n).astype(np.float32) for n in (12000, 20000)]
    meta = asr_client.metadata("asr")
    assert meta["zoo"]["signatures"]["recognize"]["kind"] == "sequence"
    assert set(meta["signatures"]["recognize"]["outputs"]) == {"token_ids", "token_length", "text"}
    for wave in audio:  # one request per utterance: no padding, as in-process
        (row,) = asr_client.recognize("asr", [wave], RATE)
        expected = asr_task.predict_waveform(wave)
        assert row["text"].decode() == expected["text"]
        n = int(row["token_length"])
        assert row["token_ids"][:n].tolist() == expected["token_ids"]
    # In a padded batch the longest row has no padding: its text is the in-process text.
    rows = asr_client.recognize("asr", audio, RATE)
    assert len(rows) == 2 and rows[1]["text"].decode() == asr_task.predict_waveform(audio[1])["text"]
