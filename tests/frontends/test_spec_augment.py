"""SpecAugment: identity at inference, per-example stripes in training, seeded."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import SpecAugment


@pytest.fixture
def features():
    # Strictly positive so that masked cells (0) are unambiguous.
    return np.random.default_rng(0).uniform(1.0, 2.0, size=(8, 60, 40)).astype(np.float32)


def stripes(masked, axis):
    """Indices along `axis` that are masked across the whole other axis."""
    return np.flatnonzero(masked.all(axis=axis))


def test_identity_at_inference(features):
    layer = SpecAugment(10, 20, seed=1)
    for training in (False, None):
        np.testing.assert_array_equal(layer(features, training=training).numpy(), features)


def test_training_masks_are_stripes_within_bounds(features):
    layer = SpecAugment(freq_mask_param=6, time_mask_param=9, num_freq_masks=2, num_time_masks=2,
                        seed=7)
    out = layer(features, training=True).numpy()
    masked = out == 0.0
    np.testing.assert_array_equal(out[~masked], features[~masked])
    for m in masked:
        freq = stripes(m, axis=0)
        time = stripes(m, axis=1)
        # Every masked cell belongs to a full frequency or full time stripe.
        covered = np.zeros_like(m)
        covered[:, freq] = True
        covered[time, :] = True
        np.testing.assert_array_equal(m, covered)
        assert len(freq) <= 2 * 6 and len(time) <= 2 * 9
    # Masks are drawn per example.
    patterns = {m.tobytes() for m in masked}
    assert len(patterns) > 4
    assert masked.mean() > 0.05


def test_seeded_layers_repeat_and_time_ratio_caps_width(features):
    a = SpecAugment(6, 9, seed=5)(features, training=True).numpy()
    b = SpecAugment(6, 9, seed=5)(features, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    c = SpecAugment(6, 9, seed=6)(features, training=True).numpy()
    assert not np.array_equal(a, c)
    capped = SpecAugment(0, 50, num_freq_masks=0, num_time_masks=1, time_mask_max_ratio=0.05,
                         seed=0)(features, training=True).numpy()
    for m in capped == 0.0:
        assert len(stripes(m, axis=1)) <= 3  # floor(0.05 * 60)


def test_dynamic_shapes_in_graph(features):
    layer = SpecAugment(4, 8, seed=2)
    fn = tf.function(lambda x: layer(x, training=True),
                     input_signature=[tf.TensorSpec([None, None, 40], tf.float32)])
    assert fn(features[:3, :17]).shape == (3, 17, 40)


def test_bad_config():
    with pytest.raises(ConfigError, match="time_mask_max_ratio"):
        SpecAugment(4, 8, time_mask_max_ratio=1.5)
    with pytest.raises(ConfigError, match="freq_mask_param must be an integer"):
        SpecAugment(-1, 8)
