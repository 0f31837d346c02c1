import numpy as np
import pytest
import tensorflow as tf

from export.streaming import CRNNStreamer, SlidingWindowStreamer, make_streamer
from zoo.errors import ExportError
from zoo.tasks.recognition import AudioClassifier


def _clip(seed, n=16000):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((2, n))).astype(np.float32)


def test_kinds(crnn_task, dscnn_task):
    assert isinstance(make_streamer(crnn_task), CRNNStreamer)
    assert isinstance(make_streamer(dscnn_task), SlidingWindowStreamer)
    with pytest.raises(ExportError, match="CRNN"):
        make_streamer(dscnn_task, "incremental")


def test_crnn_stream_equals_whole_clip_at_last_hop(crnn_task):
    x = _clip(0)
    streamer = make_streamer(crnn_task)
    scores = streamer.run(x)
    assert scores.shape == (50, 2, 12)  # one output per 20 ms hop
    np.testing.assert_allclose(scores[-1], crnn_task(x).numpy(), atol=1e-5)
    assert np.abs(scores[-2] - scores[-1]).max() > 1e-4  # the last hop matters


@pytest.mark.parametrize("frames", [5, 6, 20])
def test_crnn_stream_equals_whole_utterance_so_far(crnn_task, frames):
    """After hop L the scores equal the CRNN built for an L-frame utterance on the audio so far."""
    x = _clip(1)
    scores = make_streamer(crnn_task).run(x[:, :320 * (frames + 1)])
    config = crnn_task.get_config()
    config["backbone"]["config"]["num_frames"] = frames
    short = AudioClassifier.from_config({**config, "clip_samples": 320 * frames + 160})
    short.set_weights(crnn_task.get_weights())
    np.testing.assert_allclose(scores[frames], short(x[:, :320 * frames + 160]).numpy(), atol=1e-5)


def test_sliding_window_equals_last_second(dscnn_task):
    x = _clip(2, 24000)
    scores = make_streamer(dscnn_task).run(x)
    padded = np.concatenate([np.zeros((2, 16000), np.float32), x], axis=1)
    for hop in (10, 49, 74):
        end = 16000 + 320 * (hop + 1)
        np.testing.assert_allclose(scores[hop], dscnn_task(padded[:, end - 16000:end]).numpy(), atol=1e-5)


def test_saved_model_stream_endpoint(crnn_saved_model, crnn_task):
    fn = tf.saved_model.load(str(crnn_saved_model)).signatures["stream"]
    streamer = make_streamer(crnn_task)
    x = _clip(3)
    state = streamer.initial_state(2)
    for k in range(50):
        out = fn(audio=tf.constant(x[:, 320 * k:320 * (k + 1)]), **{n: tf.constant(v) for n, v in state.items()})
        state = {n: out[n].numpy() for n in state}
    np.testing.assert_allclose(out["scores"].numpy(), crnn_task(x).numpy(), atol=1e-5)
    assert out["label_ids"].dtype == tf.int32
