"""SI-SDR, PIT, multi-resolution STFT and spectral MSE losses: closed forms, permutations, gradients, configs."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.signal import get_window

from zoo.errors import ConfigError
from zoo.losses.pit_loss import PermutationInvariantLoss
from zoo.losses.si_sdr_loss import NegativeSISDR, si_sdr
from zoo.losses.stft_loss import MultiResolutionSTFTLoss, SpectralMSE


def _orthogonal_noise(s, rng, snr_db):
    """Zero-mean noise orthogonal to zero-mean s with ||s||^2 / ||n||^2 = 10^(snr/10)."""
    n = rng.standard_normal(s.shape)
    n -= n.mean()
    n -= np.dot(n, s) / np.dot(s, s) * s
    return n * np.sqrt(np.dot(s, s) / np.dot(n, n) / 10 ** (snr_db / 10))


@pytest.fixture
def signal():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(8000)
    return s - s.mean(), rng


def test_si_sdr_closed_forms(signal):
    s, rng = signal
    assert float(si_sdr(s, 0.3 * s)) > 80.0  # a scaled copy: only eps limits it
    for snr in (-5.0, 0.0, 10.0, 25.0):
        est = s + _orthogonal_noise(s, rng, snr)
        assert float(si_sdr(s.astype(np.float32), est.astype(np.float32))) == pytest.approx(snr, abs=2e-3)
        # Scale invariant, and a DC offset does not count with zero_mean.
        assert float(si_sdr(s, 4.0 * est + 0.5)) == pytest.approx(snr, abs=2e-3)
    assert float(si_sdr(s, s + 0.5, zero_mean=False)) < 15.0


def test_si_sdr_matches_fast_bss_eval(signal):
    from fast_bss_eval.numpy.scale_invariant import si_sdr as reference

    s, rng = signal
    ref = rng.standard_normal((3, 4000))
    est = ref + rng.standard_normal((3, 4000)) * np.array([[0.1], [0.5], [2.0]])
    expected = np.array([reference(ref[i : i + 1], est[i : i + 1], zero_mean=True)[0] for i in range(3)])
    np.testing.assert_allclose(si_sdr(ref, est).numpy(), expected, atol=1e-3)


def test_negative_si_sdr_loss_reduces_and_round_trips(signal):
    s, rng = signal
    y = np.stack([s, -s]).astype(np.float32)
    est = np.stack([s + _orthogonal_noise(s, rng, 10.0), -s + _orthogonal_noise(s, rng, 20.0)]).astype(np.float32)
    loss = NegativeSISDR()
    np.testing.assert_allclose(loss.call(y, est).numpy(), [-10.0, -20.0], atol=2e-3)
    assert float(loss(y, est)) == pytest.approx(-15.0, abs=2e-3)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(NegativeSISDR(eps=1e-6)))
    assert isinstance(clone, NegativeSISDR) and clone.eps == 1e-6 and clone.zero_mean is True
    with pytest.raises(ConfigError, match="eps must be a positive number"):
        NegativeSISDR(eps=0.0)


def _sources(rng, batch=4, s=3, t=2000):
    return rng.standard_normal((batch, s, t)).astype(np.float32)


def test_pit_finds_the_swapped_permutation():
    rng = np.random.default_rng(1)
    y = _sources(rng, batch=2, s=2)
    est = y[:, ::-1] + 0.05 * rng.standard_normal(y.shape).astype(np.float32)
    pit = PermutationInvariantLoss(NegativeSISDR())
    np.testing.assert_array_equal(pit.best_permutation(y, est).numpy(), [[1, 0], [1, 0]])
    aligned = pit.permute(est, pit.best_permutation(y, est))
    np.testing.assert_array_equal(aligned.numpy(), est[:, ::-1])
    # The PIT loss is the loss of the aligned estimates, and below the unaligned one.
    assert float(pit(y, est)) == pytest.approx(float(NegativeSISDR()(y, est[:, ::-1])), abs=1e-4)
    assert float(pit(y, est)) < float(NegativeSISDR()(y, est)) - 40.0


def test_pit_three_sources_and_pairwise_matrix():
    import itertools

    rng = np.random.default_rng(2)
    y = _sources(rng, batch=6, s=3, t=1000)
    perms = list(itertools.permutations(range(3)))
    truth = np.array([perms[b] for b in range(6)])  # a different permutation per example
    est = np.stack([y[b, np.argsort(truth[b])] for b in range(6)])
    est += 0.1 * rng.standard_normal(y.shape).astype(np.float32)
    pit = PermutationInvariantLoss("mean_squared_error")
    np.testing.assert_array_equal(pit.best_permutation(y, est).numpy(), truth)
    matrix = pit.pairwise(y, est).numpy()
    manual = np.mean((y[:, :, None] - est[:, None, :]) ** 2, axis=-1)
    np.testing.assert_allclose(matrix, manual, rtol=1e-5)
    best = np.min([[np.mean([manual[b, i, p[i]] for i in range(3)]) for p in perms] for b in range(6)], axis=1)
    np.testing.assert_allclose(pit.call(y, est).numpy(), best, rtol=1e-5)


def test_pit_rejects_bad_shapes_and_losses():
    pit = PermutationInvariantLoss(NegativeSISDR())
    with pytest.raises(ConfigError, match="same static S"):
        pit(np.zeros((2, 2, 100), np.float32), np.zeros((2, 3, 100), np.float32))
    with pytest.raises(ConfigError, match="same static S"):
        pit(np.zeros((2, 100), np.float32), np.zeros((2, 100), np.float32))
    with pytest.raises(ConfigError, match="too many sources"):
        pit(np.zeros((1, 6, 100), np.float32), np.zeros((1, 6, 100), np.float32))
    with pytest.raises(ConfigError, match="pairwise_loss must be a loss"):
        PermutationInvariantLoss("no_such_loss")


def test_pit_config_round_trip():
    pit = PermutationInvariantLoss(MultiResolutionSTFTLoss(fft_lengths=[256], frame_steps=[64], frame_lengths=[200]))
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(pit))
    assert isinstance(clone.pairwise_loss, MultiResolutionSTFTLoss)
    assert clone.pairwise_loss.get_config() == pit.pairwise_loss.get_config()
    rng = np.random.default_rng(3)
    y, est = _sources(rng, 2, 2, 1200), _sources(rng, 2, 2, 1200)
    assert float(clone(y, est)) == pytest.approx(float(pit(y, est)), rel=1e-6)


@pytest.mark.parametrize("loss", [
    NegativeSISDR(), PermutationInvariantLoss(NegativeSISDR()),
    PermutationInvariantLoss(MultiResolutionSTFTLoss()), MultiResolutionSTFTLoss(),
    SpectralMSE(mode="magnitude"), SpectralMSE(mode="phase_sensitive"), SpectralMSE(mode="complex"),
], ids=lambda x: x.name if not isinstance(x, PermutationInvariantLoss) else f"pit_{x.pairwise_loss.name}")
def test_losses_are_differentiable_and_descend(loss):
    rng = np.random.default_rng(4)
    y = tf.constant(_sources(rng, 2, 2, 4000))
    est = tf.Variable(y + 0.5 * tf.constant(_sources(rng, 2, 2, 4000)))
    with tf.GradientTape() as tape:
        before = loss(y, est)
    grad = tape.gradient(before, est)
    assert grad is not None and np.all(np.isfinite(grad.numpy())) and float(tf.norm(grad)) > 0
    est.assign_sub(1e-3 * grad / tf.norm(grad) * tf.norm(est))
    assert float(loss(y, est)) < float(before)


def _np_magnitude(x, fft, hop, win):
    """tf.signal.stft(pad_end=True) in numpy: periodic Hann, frame zero-padded at its end."""
    n_frames = -(-len(x) // hop)
    x = np.pad(x, (0, (n_frames - 1) * hop + win - len(x)))
    frames = np.stack([x[i * hop : i * hop + win] for i in range(n_frames)]) * get_window("hann", win)
    return np.abs(np.fft.rfft(frames, n=fft))


def test_multi_resolution_stft_loss_numerics():
    rng = np.random.default_rng(5)
    t, p = rng.standard_normal(3000), rng.standard_normal(3000)
    loss = MultiResolutionSTFTLoss(fft_lengths=[512, 256], frame_steps=[128, 50], frame_lengths=[400, 240], eps=1e-7)
    sc, mag = [], []
    for fft, hop, win in ((512, 128, 400), (256, 50, 240)):
        mt, mp = (np.maximum(_np_magnitude(x, fft, hop, win), np.sqrt(1e-7)) for x in (t, p))
        sc.append(np.linalg.norm(mt - mp) / np.linalg.norm(mt))
        mag.append(np.mean(np.abs(np.log(mt) - np.log(mp))))
    got_sc, got_mag = loss.components(t[None].astype(np.float32), p[None].astype(np.float32))
    assert float(got_sc[0]) == pytest.approx(np.mean(sc), rel=1e-4)
    assert float(got_mag[0]) == pytest.approx(np.mean(mag), rel=1e-4)
    assert float(loss(t[None], t[None])) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ConfigError, match="one fft_length, frame_step and frame_length per resolution"):
        MultiResolutionSTFTLoss(fft_lengths=[512], frame_steps=[128, 64], frame_lengths=[400])
    with pytest.raises(ConfigError, match="frame_length exceeds fft_length"):
        MultiResolutionSTFTLoss(fft_lengths=[256], frame_steps=[64], frame_lengths=[400])


def test_spectral_mse_modes():
    rng = np.random.default_rng(6)
    s = rng.standard_normal((1, 4096)).astype(np.float32)
    power = float(np.mean(_np_magnitude(s[0], 512, 128, 512) ** 2))
    mse = {m: SpectralMSE(mode=m) for m in ("magnitude", "phase_sensitive", "complex")}
    # Twice the target: every mode sees an error of |S| per bin.
    for m in mse.values():
        assert float(m(s, 2 * s)) == pytest.approx(power, rel=1e-3)
    # Sign flip: magnitudes agree; the phase-sensitive target is -|S|, so it counts like the complex error.
    assert float(mse["magnitude"](s, -s)) == pytest.approx(0.0, abs=1e-3 * power)
    assert float(mse["phase_sensitive"](s, -s)) == pytest.approx(4 * power, rel=1e-3)
    assert float(mse["complex"](s, -s)) == pytest.approx(4 * power, rel=1e-3)
    # Otherwise PSA <= complex (it drops the error orthogonal to the estimate).
    est = s + rng.standard_normal(s.shape).astype(np.float32)
    assert float(mse["phase_sensitive"](s, est)) < float(mse["complex"](s, est))
    clone = SpectralMSE.from_config(SpectralMSE(mode="complex", frame_length=256, fft_length=256).get_config())
    assert clone.mode == "complex" and clone.frame_length == 256
    with pytest.raises(ConfigError, match="unknown mode"):
        SpectralMSE(mode="phase")
