"""training.augment.perturb_features: VTLP frequency warp and tempo change of batched features, checked
against closed forms (ramps and single peaks) and for identity at factor 1."""

import numpy as np
import pytest
import tensorflow as tf

from training.augment import perturb_features, vtlp_source_bins


def _ramp(batch, frames, bins):
    """Feature value = frame index (so resampled values tell which source frame was read)."""
    return np.broadcast_to(np.arange(frames, dtype=np.float32)[None, :, None], (batch, frames, bins)).copy()


def test_factor_one_is_identity():
    x = np.random.default_rng(0).normal(size=(3, 50, 40)).astype(np.float32)
    frames = np.array([50, 31, 7], np.int32)
    out, out_frames = perturb_features(x, frames, tf.ones([3]), tf.ones([3]))
    np.testing.assert_allclose(out.numpy(), x, atol=1e-4)  # linspace round-off
    np.testing.assert_array_equal(out_frames.numpy(), frames)


@pytest.mark.parametrize("tempo", [2.0, 0.5, 1.1, 0.9])
def test_tempo_reads_frame_j_times_tempo(tempo):
    x = _ramp(2, 41, 8)
    frames = np.array([41, 21], np.int32)
    out, out_frames = perturb_features(x, frames, tf.ones([2]), tf.constant([tempo, tempo]))
    width = int(np.ceil(40 / tempo)) + 1
    assert out.shape == (2, width, 8)
    expected = np.minimum(np.arange(width) * tempo, 40.0)
    np.testing.assert_allclose(out.numpy()[0, :, 3], expected, atol=1e-4)
    np.testing.assert_array_equal(out_frames.numpy(), np.floor((frames - 1) / tempo).astype(int) + 1)
    # The last valid output frame reads inside the row's valid frames.
    assert out.numpy()[1, out_frames.numpy()[1] - 1, 0] <= frames[1] - 1 + 1e-5


def test_rows_keep_their_own_tempo():
    x = _ramp(2, 30, 4)
    out, out_frames = perturb_features(x, np.array([30, 30], np.int32), tf.ones([2]), tf.constant([1.0, 0.5]))
    assert out.shape[1] == 59  # set by the slowest row
    np.testing.assert_allclose(out.numpy()[0, :30, 0], np.arange(30), atol=1e-5)
    np.testing.assert_allclose(out.numpy()[1, :5, 0], [0, 0.5, 1, 1.5, 2], atol=1e-5)
    np.testing.assert_array_equal(out_frames.numpy(), [30, 59])


def test_vtlp_map_is_monotonic_continuous_and_keeps_the_ends():
    bins = 40
    for warp in (0.9, 0.95, 1.0, 1.05, 1.1):
        src = vtlp_source_bins(tf.constant([warp]), bins).numpy()[0]
        assert src[0] == pytest.approx(0.0) and src[-1] == pytest.approx(bins - 1, abs=1e-4)
        assert np.all(np.diff(src) > 0)
        assert np.max(np.abs(np.diff(src, 2))) < 0.5  # piecewise linear: no jump at the boundary
    np.testing.assert_allclose(vtlp_source_bins(tf.constant([1.0]), bins).numpy()[0], np.arange(bins), atol=1e-4)


@pytest.mark.parametrize("warp", [0.9, 1.1])
def test_vtlp_moves_a_low_peak_by_the_warp_factor(warp):
    bins, peak = 40, 10
    x = np.zeros((1, 5, bins), np.float32)
    x[:, :, peak] = 1.0
    out, _ = perturb_features(x, np.array([5], np.int32), tf.constant([warp]), tf.ones([1]))
    spectrum = out.numpy()[0, 2]
    centre = float(np.sum(spectrum * np.arange(bins)) / np.sum(spectrum))
    assert centre == pytest.approx(peak * warp, abs=0.05)
