"""Streaming CTC (causal DeepSpeech2): hop-by-hop logits equal the whole-utterance model's; the
float32 TFLite streaming model passes its parity gate (<= 1e-4) and gives the same greedy text."""

from __future__ import annotations

import keras
import numpy as np
import pytest

RATE = 16000
BINS = 16


@pytest.fixture(scope="module")
def causal_task():
    from zoo.families.recognition.deepspeech2.deepspeech2_backbone import DeepSpeech2Backbone
    from zoo.frontends import LogMelSpectrogram
    from zoo.tasks.speech_recognizer import SpeechRecognizer

    keras.utils.set_random_seed(1)
    backbone = DeepSpeech2Backbone(BINS, conv_filters=[4, 6], conv_kernel_sizes=[[3, 3], [3, 3]],
                                   conv_strides=[[2, 2], [1, 2]], rnn_units=16, num_rnn_layers=2, causal=True)
    rng = np.random.default_rng(0)
    for layer in backbone.layers:  # non-trivial normalisation statistics
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
    frontend = LogMelSpectrogram(sample_rate=RATE, frame_length=400, frame_step=160, fft_length=512,
                                 num_mel_bins=BINS, fmin=20.0, fmax=7600.0)
    return SpeechRecognizer(backbone, frontend, {"class_name": "CharTokenizer", "config": {}}, RATE, name="tiny_causal")


def whole_logits(task, wave):
    n = len(wave) // 160 * 160
    out = task({"waveform": wave[None, :n], "waveform_length": np.array([n], np.int32)})
    return out["logits"].numpy()[0]


def test_stream_equals_whole_utterance(causal_task):
    from export.streaming import make_streamer

    streamer = make_streamer(causal_task)
    assert streamer.hop_samples == 160 and streamer.warmup_hops == 2
    wave = np.random.default_rng(2).uniform(-0.5, 0.5, 12345).astype(np.float32)
    streamed, whole = streamer.run(wave), whole_logits(causal_task, wave)
    assert streamed.shape == whole.shape == (38, 29)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_non_causal_task_is_refused():
    from export.ctc_streamer import CTCStreamer
    from zoo.errors import ExportError
    from zoo.families.recognition.deepspeech2.deepspeech2_backbone import DeepSpeech2Backbone
    from zoo.frontends import LogMelSpectrogram
    from zoo.tasks.speech_recognizer import SpeechRecognizer

    task = SpeechRecognizer(DeepSpeech2Backbone(BINS, conv_filters=[4], conv_kernel_sizes=[[3, 3]],
                                                conv_strides=[[2, 2]], rnn_units=8, num_rnn_layers=1),
                            LogMelSpectrogram(RATE, 400, 160, 512, BINS, 20.0, 7600.0),
                            {"class_name": "CharTokenizer", "config": {}}, RATE)
    with pytest.raises(ExportError, match="causal"):
        CTCStreamer(task)


def test_tflite_float32_stream_parity(causal_task):
    from export.streaming import make_streamer
    from export.tflite import Runner, convert, model_ops

    content = convert(causal_task, "float32", streaming=True)  # converted in a subprocess
    assert not [op for op in model_ops(content) if op.startswith("Flex")]
    runner = Runner(content)
    streamer = make_streamer(causal_task)
    state = streamer.initial_state(1)
    wave = np.random.default_rng(3).uniform(-0.5, 0.5, 8000).astype(np.float32)
    frames = []
    for k in range(len(wave) // 160):
        out = runner(audio=wave[None, k * 160:(k + 1) * 160], **state)
        state = {n: out[n] for n in state}
        if int(out["valid"][0]):
            frames.append(out["logits"][0])
    whole = whole_logits(causal_task, wave)
    np.testing.assert_allclose(np.stack(frames), whole, atol=1e-4)


def test_saved_model_stream_endpoint_equals_whole(causal_task, tmp_path):
    import tensorflow as tf

    from export.saved_model import export_saved_model
    from export.streaming import make_streamer

    path = export_saved_model(causal_task, tmp_path, model_name="asr", streaming=True)
    served = tf.saved_model.load(str(path))
    assert {"recognize", "serving_default", "recognize_wav", "stream"} <= set(served.signatures)
    state = make_streamer(causal_task).initial_state(1)
    wave = np.random.default_rng(4).uniform(-0.5, 0.5, 4800).astype(np.float32)
    frames = []
    for k in range(len(wave) // 160):
        out = served.signatures["stream"](audio=tf.constant(wave[None, k * 160:(k + 1) * 160]),
                                          **{n: tf.constant(v) for n, v in state.items()})
        state = {n: out[n].numpy() for n in state}
        if int(out["valid"][0]):
            frames.append(out["logits"].numpy()[0])
    np.testing.assert_allclose(np.stack(frames), whole_logits(causal_task, wave), atol=1e-5)
