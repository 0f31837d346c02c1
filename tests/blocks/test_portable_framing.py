"""The keras.ops framing and overlap-add that the Conv-TasNet, DTLN and BLSTM-mask layers use off
TensorFlow (JAX accelerator training) equal the tf.signal ops they replace there."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.blocks.frame_signal import FrameSignal, frame_by_gather
from zoo.blocks.overlap_add import OverlapAdd, overlap_add_by_shifts


@pytest.mark.parametrize("frame_length,frame_step,samples", [(32, 16, 16000), (7, 3, 101), (8, 8, 64), (5, 1, 20)])
def test_frame_by_gather_equals_tf_signal_frame(frame_length, frame_step, samples):
    x = np.random.default_rng(frame_length).standard_normal((3, samples)).astype(np.float32)
    got = np.asarray(frame_by_gather(tf.constant(x), frame_length, frame_step))
    want = tf.signal.frame(x, frame_length, frame_step, pad_end=False).numpy()
    assert got.shape == want.shape == (3, 1 + (samples - frame_length) // frame_step, frame_length)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(FrameSignal(frame_length, frame_step)(x).numpy(), want)


@pytest.mark.parametrize("frame_length,frame_step", [(32, 16), (7, 3), (8, 8), (5, 1), (3, 4)])
def test_overlap_add_by_shifts_equals_tf_signal(frame_length, frame_step):
    frames = np.random.default_rng(frame_step).standard_normal((2, 3, 11, frame_length)).astype(np.float32)
    got = np.asarray(overlap_add_by_shifts(tf.constant(frames), frame_step))
    want = tf.signal.overlap_and_add(frames, frame_step).numpy()
    assert got.shape == want.shape == (2, 3, 10 * frame_step + frame_length)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(OverlapAdd(frame_step)(frames).numpy(), want)


def test_frame_then_overlap_add_reconstructs_with_half_overlap():
    """Frames of L with hop L/2 overlap-added count every inner sample twice (Conv-TasNet's encoder/decoder)."""
    x = np.random.default_rng(1).standard_normal((2, 32 + 16 * 9)).astype(np.float32)
    out = np.asarray(overlap_add_by_shifts(frame_by_gather(tf.constant(x), 32, 16), 16))
    np.testing.assert_allclose(out[:, 16:-16], 2 * x[:, 16:-16], rtol=1e-6)
    np.testing.assert_allclose(out[:, :16], x[:, :16], rtol=1e-6)
