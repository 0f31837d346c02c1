"""The keras.ops framing, overlap-add and depthwise conv that the Conv-TasNet, DTLN and BLSTM-mask layers use off
TensorFlow (JAX accelerator training) equal the TensorFlow ops they replace there."""

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


@pytest.mark.parametrize("taps,dilation,use_bias", [(3, 1, True), (3, 8, True), (3, 64, False), (2, 4, True)])
def test_portable_depthwise_conv_equals_keras_depthwise_conv(taps, dilation, use_bias):
    """The shifted-sum path (used off TensorFlow) gives Keras's DepthwiseConv1D output with the same weights,
    and the layer keeps Keras's weight names and shapes, so published Conv-TasNet weights load into it."""
    import keras

    from zoo.blocks.portable_depthwise_conv import DepthwiseConv1D as PortableDepthwiseConv1D
    from zoo.blocks.portable_depthwise_conv import depthwise_by_shifts

    x = np.random.default_rng(dilation).standard_normal((2, 300, 6)).astype(np.float32)
    layer = PortableDepthwiseConv1D(taps, dilation_rate=dilation, use_bias=use_bias)
    reference = keras.layers.DepthwiseConv1D(taps, dilation_rate=dilation, use_bias=use_bias)
    want = reference(x).numpy()
    layer.build(x.shape)
    assert [(w.path.split("/")[-1], w.shape) for w in layer.weights] == \
           [(w.path.split("/")[-1], w.shape) for w in reference.weights]
    layer.set_weights(reference.get_weights())
    assert layer(x).numpy().shape == want.shape == (2, 300 - dilation * (taps - 1), 6)
    np.testing.assert_array_equal(layer(x).numpy(), want)  # TensorFlow: Keras's own conv
    layer.implementation = "shifts"
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)
    bias = reference.bias if use_bias else None
    np.testing.assert_allclose(np.asarray(depthwise_by_shifts(tf.constant(x), reference.kernel, dilation, bias)),
                               want, rtol=1e-5, atol=1e-5)


def test_portable_depthwise_conv_refuses_what_it_cannot_shift():
    from zoo.blocks.portable_depthwise_conv import DepthwiseConv1D as PortableDepthwiseConv1D
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="padding='valid'"):
        PortableDepthwiseConv1D(3, padding="same")
    with pytest.raises(ConfigError, match="depth_multiplier"):
        PortableDepthwiseConv1D(3, depth_multiplier=2)
    layer = PortableDepthwiseConv1D(3)
    layer.implementation = "fast"
    with pytest.raises(ConfigError, match="implementation"):
        layer(np.zeros((1, 8, 2), np.float32))


def test_weights_saved_with_keras_depthwise_conv_load_into_the_portable_one(tmp_path):
    """A weights file keys layers by class name: the portable layer must read what Keras's layer wrote
    (every Conv-TasNet weights file published before it existed)."""
    import keras

    from zoo.blocks.portable_depthwise_conv import DepthwiseConv1D as PortableDepthwiseConv1D

    def model(layer_class):
        inputs = keras.Input((None, 4))
        x = keras.layers.ZeroPadding1D(2)(inputs)
        x = layer_class(3, dilation_rate=2)(x)
        return keras.Model(inputs, layer_class(3)(keras.layers.ZeroPadding1D(1)(x)))

    x = np.random.default_rng(3).standard_normal((2, 50, 4)).astype(np.float32)
    saved = model(keras.layers.DepthwiseConv1D)
    saved.save_weights(str(tmp_path / "m.weights.h5"))
    loaded = model(PortableDepthwiseConv1D)
    loaded.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_array_equal(loaded(x).numpy(), saved(x).numpy())
