"""Mask-based MVDR: Souden weights against the classic steering-vector MVDR, a simulated plane wave
in diffuse noise (the beamformer must beat the reference microphone), covariances, the mask net."""

import numpy as np
import pytest

from zoo.errors import AudioError, ConfigError

SR = 16000
C = 343.0
MICS = (np.arange(4) - 1.5) * 0.05  # linear array positions (m)


def steering(freqs, azimuth):
    """c[K, M]: plane-wave phase per mic for a far-field source at `azimuth` (rad from the array axis)."""
    delays = MICS * np.cos(azimuth) / C
    return np.exp(-2j * np.pi * freqs[:, None] * delays[None])


def test_souden_equals_steering_vector_mvdr_for_rank_one_speech():
    from zoo.families.separation.mask_mvdr.mvdr import souden_mvdr_weights

    rng = np.random.default_rng(0)
    freqs = np.linspace(100, 7000, 9)
    d = steering(freqs, 1.0)  # [K, M]
    a = rng.normal(size=(9, 4, 4)) + 1j * rng.normal(size=(9, 4, 4))
    phi_n = a @ np.conj(np.swapaxes(a, 1, 2)) + 0.1 * np.eye(4)
    phi_s = 2.0 * d[:, :, None] * np.conj(d[:, None, :])
    w = souden_mvdr_weights(phi_s, phi_n, reference=2, diagonal_loading=0.0)
    inv_d = np.linalg.solve(phi_n, d[..., None])[..., 0]
    classic = inv_d / np.einsum("km,km->k", np.conj(d), inv_d)[:, None] * np.conj(d[:, 2:3])
    np.testing.assert_allclose(w, classic, rtol=1e-8, atol=1e-10)
    # distortionless toward the source: w^H d equals the reference mic's response
    np.testing.assert_allclose(np.einsum("km,km->k", np.conj(w), d), d[:, 2], rtol=1e-8)


def delayed(signal, delays):
    """f[M, T]: `signal` delayed by `delays` seconds per mic (exact circular fractional delay via the FFT)."""
    spec = np.fft.rfft(signal)
    f = np.fft.rfftfreq(len(signal), 1 / SR)
    return np.fft.irfft(spec[None] * np.exp(-2j * np.pi * f[None] * np.asarray(delays)[:, None]), len(signal))


def plane_wave_in_diffuse_noise(seed=0, seconds=2.0):
    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    gate = np.repeat(rng.uniform(size=n // 1600 + 1) > 0.4, 1600)[:n]  # speech-like on/off
    speech = delayed(rng.normal(size=n) * gate, MICS * np.cos(1.1) / C)
    noise = np.zeros_like(speech)
    for az in np.linspace(0, 2 * np.pi, 24, endpoint=False):  # many plane waves ~ a diffuse field
        noise += delayed(rng.normal(size=n), MICS * np.cos(az) / C) / np.sqrt(24)
    noise += 0.3 * rng.normal(size=noise.shape)  # spatially white sensor noise
    noise *= np.sqrt(np.mean(speech[0] ** 2) / np.mean(noise[0] ** 2))  # 0 dB at mic 0
    return speech, noise


def test_oracle_mask_mvdr_beats_the_reference_mic_on_a_plane_wave_in_diffuse_noise():
    from zoo.families.separation.deep_clustering import spectral
    from zoo.families.separation.mask_mvdr.mvdr import mask_mvdr
    from zoo.metrics.separation import si_sdr

    speech, noise = plane_wave_in_diffuse_noise()
    mix = speech + noise
    s, nz = spectral.stft(speech[0], 512, 128), spectral.stft(noise[0], 512, 128)
    ibm = (np.abs(s) > np.abs(nz)).astype(float)
    out = mask_mvdr(mix, ibm, 1.0 - ibm, n_fft=512, hop=128, reference=0)
    assert out.shape == (mix.shape[1],)
    ref_score = si_sdr(speech[:1], mix[:1], compute_permutation=False)[0]
    mvdr_score = si_sdr(speech[:1], out[None], compute_permutation=False)[0]
    assert abs(ref_score) < 1.0  # 0 dB input
    assert mvdr_score > ref_score + 3.0, (ref_score, mvdr_score)


def test_spatial_covariance_matches_the_mean_outer_product():
    from zoo.families.separation.mask_mvdr.mvdr import spatial_covariance

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 7, 5)) + 1j * rng.normal(size=(3, 7, 5))
    mask = rng.uniform(size=(7, 5))
    phi = spatial_covariance(x, mask)
    k = 2
    expected = sum(mask[t, k] * np.outer(x[:, t, k], np.conj(x[:, t, k])) for t in range(7)) / mask[:, k].sum()
    np.testing.assert_allclose(phi[k], expected, rtol=1e-10)
    np.testing.assert_allclose(phi, np.conj(np.swapaxes(phi, 1, 2)), atol=1e-12)  # Hermitian
    with pytest.raises(AudioError, match="mask shape differs"):
        spatial_covariance(x, mask[:, :3])


def test_mvdr_input_errors():
    from zoo.families.separation.mask_mvdr.mvdr import mask_mvdr, souden_mvdr_weights

    eye = np.tile(np.eye(2), (3, 1, 1))
    with pytest.raises(ConfigError, match="reference microphone out of range"):
        souden_mvdr_weights(eye, eye, reference=2)
    with pytest.raises(AudioError, match="C >= 2"):
        mask_mvdr(np.zeros(4000), np.ones((1, 1)), np.ones((1, 1)))


def test_mask_estimator_shapes_save_load_and_enhance(tmp_path):
    import keras

    from zoo.families.separation.mask_mvdr.mask_estimator import MaskEstimator

    model = MaskEstimator(n_fft=128, hop=32, lstm_units=8, num_layers=2)
    x = np.random.default_rng(2).normal(size=(3, 10, 65)).astype("f4")
    masks = np.asarray(model(x))
    assert masks.shape == (3, 10, 65, 2) and masks.min() >= 0 and masks.max() <= 1
    path = tmp_path / "mask.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is MaskEstimator and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded(x)), masks, atol=1e-6)
    speech, noise = plane_wave_in_diffuse_noise(seconds=0.5)
    mix = speech + noise
    speech_mask, noise_mask = loaded.channel_masks(mix)
    assert speech_mask.shape == noise_mask.shape == (mix.shape[1] // 32 + 1, 65)
    out = loaded.enhance(mix)
    assert out.shape == (mix.shape[1],) and np.all(np.isfinite(out))
    with pytest.raises(ConfigError, match="lstm_units must be a positive int"):
        MaskEstimator(lstm_units=0)
