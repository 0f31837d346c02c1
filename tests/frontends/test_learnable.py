"""SincConv and LearnableFilterbank: filter responses (closed forms), shapes, trainability."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import LearnableFilterbank, SincConv


def response(kernel, n_fft=16384):
    """|H(f)| of each column of a real [K, N] or complex kernel, and the frequencies (16 kHz)."""
    return np.abs(np.fft.fft(kernel, n=n_fft, axis=0)), np.fft.fftfreq(n_fft, 1 / 16000)


def test_sinc_filters_pass_their_band_and_stop_outside():
    layer = SincConv(16, 401, 16000, stride=160)
    layer.build((None, 16000))
    low, high = (x.numpy() for x in layer.cutoffs())
    assert np.all(np.diff(low) > 0) and np.all(high > low) and high.max() <= 8000.0
    gain, freqs = response(layer.kernel().numpy())
    for i in range(16):
        centre = np.argmin(np.abs(freqs - (low[i] + high[i]) / 2))
        assert abs(gain[centre, i] - 1.0) < 0.05  # unit pass-band gain
        stop = (freqs >= 0) & ((freqs < low[i] - 200) | (freqs > high[i] + 200))
        assert gain[stop, i].max() < 0.02  # Hamming side lobes ~ -43 dB, plus the transition band


def test_sinc_output_shape_and_cutoff_gradients(signal):
    layer = SincConv(8, 129, 16000, stride=80)
    x = tf.constant(signal[None])
    with tf.GradientTape() as tape:
        out = layer(x)
        loss = tf.reduce_mean(out ** 2)
    assert out.shape == (1, 1 + (16000 - 129) // 80, 8)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert [w.name for w in layer.trainable_weights] == ["low_hz", "band_hz"]
    assert all(np.abs(g.numpy()).max() > 0 and np.all(np.isfinite(g.numpy())) for g in grads)


def test_sinc_convolution_matches_numpy(signal):
    layer = SincConv(4, 65, 16000, stride=32)
    out = layer(signal[None]).numpy()[0]
    k = layer.kernel().numpy()
    ref = np.stack([np.correlate(signal.astype(np.float64), k[:, i], mode="valid")[::32]
                    for i in range(4)], axis=-1)
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_sinc_rejects_even_kernel():
    with pytest.raises(ConfigError, match="kernel_size must be odd"):
        SincConv(8, 128, 16000)


def test_gabor_init_peaks_at_mel_centres():
    layer = LearnableFilterbank(40, 401, 160, sample_rate=16000, fmin=60.0)
    kernel, centres = layer.initial_kernel()
    complex_kernel = kernel[:, 0, :40] + 1j * kernel[:, 0, 40:]
    gain, freqs = response(complex_kernel)
    peaks = freqs[gain.argmax(axis=0)]
    np.testing.assert_allclose(peaks, centres, atol=1.0)  # one 0.98 Hz bin
    np.testing.assert_allclose(gain.max(axis=0), 1.0, atol=1e-3)
    assert np.all(np.diff(centres) > 0) and centres[0] > 60.0 and centres[-1] < 8000.0


def test_filterbank_output_modes(signal):
    kw = dict(num_filters=20, kernel_size=257, stride=160, sample_rate=16000)
    x = signal[None]
    power = LearnableFilterbank(**kw, compression="none")(x).numpy()
    mag = LearnableFilterbank(**kw, rectify="abs", compression="none")(x).numpy()
    log_power = LearnableFilterbank(**kw)(x).numpy()
    assert power.shape == (1, 1 + (16000 - 257) // 160, 20)
    np.testing.assert_allclose(mag ** 2, power, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(log_power, np.log(power + 1e-6), atol=1e-4)
    # The tone at 440 Hz dominates the filters around it.
    centres = LearnableFilterbank(**kw).initial_kernel()[1]
    assert abs(centres[power[0].mean(axis=0).argmax()] - 440.0) < 120.0


def test_random_init_is_seeded():
    def kernel(seed):
        layer = LearnableFilterbank(8, 64, 32, init="random", seed=seed)
        layer.build((None, 1000))
        return layer.kernel.numpy()

    np.testing.assert_array_equal(kernel(3), kernel(3))
    assert not np.array_equal(kernel(3), kernel(4))


def test_filterbank_bad_config():
    with pytest.raises(ConfigError, match="unknown rectify"):
        LearnableFilterbank(8, 64, 32, rectify="relu")
    with pytest.raises(ConfigError, match="band edges out of range"):
        LearnableFilterbank(8, 64, 32, sample_rate=16000, fmax=9000.0)
