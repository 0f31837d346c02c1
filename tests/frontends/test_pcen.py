"""PCEN against librosa.pcen with both initial states."""

import keras
import librosa
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.frontends import PCEN, LogMelSpectrogram
from zoo.frontends.pcen import scan_steps

# float32 pow/log vs librosa's float64: measured ~2e-6 on outputs of size ~3-6.
ATOL = 1e-4


@pytest.fixture(scope="module")
def energies(signal):
    """[1, F, 40] mel energies of 3 s of signal (F = 298 frames)."""
    y = np.concatenate([signal, signal[::-1], signal])
    return LogMelSpectrogram(16000, 400, 160, 512, 40, 0.0, 8000.0).mel_energies(y[None]).numpy()


@pytest.mark.parametrize("scale", [1.0, 2.0 ** 31])
def test_first_frame_state_matches_librosa_with_scaled_zi(energies, scale):
    e = energies * scale
    s = e[0].T.astype(np.float64)
    zi = scipy.signal.lfilter_zi([0.025], [1, 0.025 - 1]) * s[:, :1]
    ref = librosa.pcen(s, sr=16000, hop_length=160, gain=0.98, bias=2.0, power=0.5, b=0.025,
                       eps=1e-6, zi=zi).T
    ours = PCEN()(e).numpy()[0]
    np.testing.assert_allclose(ours, ref, atol=ATOL)


def test_unit_state_matches_librosa_default(energies):
    s = energies[0].T.astype(np.float64)
    ref = librosa.pcen(s, sr=16000, hop_length=160, b=0.025).T  # librosa's zi = lfilter_zi
    ours = PCEN(initial_state="unit")(energies).numpy()[0]
    np.testing.assert_allclose(ours, ref, atol=ATOL)


def test_other_parameters_match_librosa(energies):
    s = energies[0].T.astype(np.float64)
    zi = scipy.signal.lfilter_zi([0.1], [1, 0.1 - 1]) * s[:, :1]
    ref = librosa.pcen(s, sr=16000, hop_length=160, gain=0.8, bias=10.0, power=0.25, b=0.1,
                       eps=1e-4, zi=zi).T
    ours = PCEN(alpha=0.8, delta=10.0, root=0.25, smoothing=0.1, eps=1e-4)(energies).numpy()[0]
    np.testing.assert_allclose(ours, ref, atol=ATOL)


def test_scan_is_exact_beyond_its_depth():
    # 1500 frames > 2 ** 10: the doubling scan drops only weights below 1e-7.
    assert scan_steps(0.025) == 10
    e = np.random.default_rng(0).gamma(1.0, 1.0, size=(1, 1500, 3)).astype(np.float32)
    m = PCEN().smooth(tf.constant(e)).numpy()[0]
    ref = scipy.signal.lfilter([0.025], [1, -0.975], e[0].astype(np.float64), axis=0,
                               zi=0.975 * e[0, :1].astype(np.float64))[0]
    np.testing.assert_allclose(m, ref, rtol=1e-5)


def test_trainable_flag_and_gradients(energies):
    frozen = PCEN()
    frozen.build(energies.shape)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 4
    layer = PCEN(trainable=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(energies))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert len(grads) == 4 and all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert all(np.abs(g.numpy()).max() > 0 for g in grads)
    assert layer.min_smoothing == pytest.approx(0.025 / 4)


def test_bad_input_and_config():
    with pytest.raises(AudioError, match="wrong rank"):
        PCEN()(np.ones((2, 10), np.float32))
    with pytest.raises(ConfigError, match="smoothing must be in"):
        PCEN(smoothing=1.5)
    with pytest.raises(ConfigError, match="unknown initial_state"):
        PCEN(initial_state="zeros")
    inp = keras.Input((None, None))
    with pytest.raises(AudioError, match="known number of channels"):
        PCEN()(inp)
