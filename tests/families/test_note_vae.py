"""NoteVAE: shapes, log-mel against librosa, KL against closed forms, the loss, KL warm-up, safe_mode
save/load, a tiny overfit, morph endpoints, vocoded audio, argument errors."""

import keras
import numpy as np
import pytest

from zoo.errors import AudioError, ConfigError
from zoo.families.synthesis.note_vae.note_decoder import NoteDecoder
from zoo.families.synthesis.note_vae.note_encoder import NoteEncoder
from zoo.families.synthesis.note_vae.note_vae import NoteVAE, kl_divergence

SMALL = dict(num_frames=32, num_mel_bins=32, latent_dim=8, channels=[8, 16, 16], griffin_lim_iterations=4)


def _notes(n=4, seed=0):
    """Decaying harmonic tones of different pitches and brightness, 1 s at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000.0
    out = []
    for _ in range(n):
        f0, tilt = rng.uniform(130, 520), rng.uniform(0.3, 0.9)
        x = sum(tilt ** k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(6))
        out.append(0.2 * x * np.exp(-3 * t) / 3)
    return np.stack(out).astype(np.float32)


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    return NoteVAE(**{**SMALL, **kwargs})


def test_shapes():
    model = _model()
    x = model.features(_notes(3))
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    mu, logvar = model.encode(x)
    assert tuple(mu.shape) == tuple(logvar.shape) == (3, 8)
    assert tuple(model.decode(mu).shape) == (3, 32, 32) and tuple(model(x).shape) == (3, 32, 32)
    assert model.sample(5, seed=1).shape == (5, 32, 32)
    np.testing.assert_array_equal(model.sample(2, seed=1), model.sample(2, seed=1))
    assert model.to_waveform(x[:2]).shape == (2, 16000) and model.to_waveform(x[0]).shape == (1, 16000)
    assert model.padded_samples == 31 * 256 + 1024
    enc, dec = NoteEncoder(64, 64, 16, [4, 4]), NoteDecoder(64, 64, 16, [4, 4])
    assert tuple(dec(enc(np.zeros((2, 64, 64), np.float32))[0]).shape) == (2, 64, 64)


def test_log_mel_matches_librosa_and_normalization_round_trips():
    import librosa

    model = _model()
    x = _notes(2)
    padded = x[:, :model.padded_samples]  # 32 frames cover 8960 samples: the model crops the clip
    ref = np.log(librosa.feature.melspectrogram(y=padded, sr=16000, n_fft=1024, hop_length=256, n_mels=32,
                                                center=False, power=2.0) + 1e-5).transpose(0, 2, 1)
    got = model.log_mel(x)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=2e-3 * np.abs(ref).max())
    mean, std = NoteVAE.band_statistics(got)
    normed = NoteVAE(**SMALL, feature_mean=mean, feature_std=std)
    feats = normed.features(x)
    np.testing.assert_allclose(feats.mean(axis=(0, 1)), 0.0, atol=1e-3)  # float32 over a 1e-3 std floor
    np.testing.assert_allclose(normed.denormalize(feats), got, atol=1e-4)


def test_kl_against_closed_forms():
    mu = np.array([[0.0, 0.0], [1.5, -2.0], [0.3, 0.7]], np.float32)
    logvar = np.array([[0.0, 0.0], [np.log(0.25), np.log(4.0)], [-1.0, 0.5]], np.float32)
    sigma = np.exp(0.5 * logvar.astype(np.float64))
    # KL(N(mu, s^2) || N(0, 1)) = ln(1 / s) + (s^2 + mu^2) / 2 - 1/2 per dimension
    closed = np.sum(np.log(1.0 / sigma) + (sigma ** 2 + mu ** 2) / 2.0 - 0.5, axis=1)
    got = np.asarray(kl_divergence(mu, logvar))
    np.testing.assert_allclose(got, closed, rtol=1e-5)
    assert got[0] == 0.0
    # and by numeric integration of q ln(q / p) in one dimension
    z = np.linspace(-20, 20, 400001)
    q = np.exp(-0.5 * ((z - 1.5) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
    p = np.exp(-0.5 * z ** 2) / np.sqrt(2 * np.pi)
    mask = q > 1e-300
    numeric = np.sum(q[mask] * (np.log(q[mask]) - np.log(p[mask]))) * (z[1] - z[0])
    one_dim = float(kl_divergence(np.array([[1.5]]), np.array([[np.log(0.25)]]))[0])
    assert abs(one_dim - numeric) < 1e-6


def test_loss_is_sse_plus_beta_kl_and_warm_up_is_linear():
    model = _model(beta=2.0, kl_warmup_steps=4)
    x = model.features(_notes(3))
    logs = model.losses_for(x, training=False, beta=2.0)
    mu, logvar = (np.asarray(t, np.float64) for t in model.encode(x))
    x_hat = np.asarray(model.decode(mu), np.float64)
    sse = np.sum((x - x_hat) ** 2, axis=(1, 2))
    kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1 - logvar, axis=1)
    np.testing.assert_allclose(float(logs["loss"]), sse.mean() + 2.0 * kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(float(logs["reconstruction_mse"]), sse.mean() / (32 * 32), rtol=1e-4)
    model.compile(keras.optimizers.Adam(1e-3))
    weights = []
    for _ in range(6):
        weights.append(float(model.kl_weight()))
        model.train_on_batch(x)
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.5, 2.0, 2.0, 2.0], rtol=1e-6)
    assert float(_model(kl_warmup_steps=0, beta=0.5).kl_weight()) == 0.5


def test_save_load_safe_mode_equal(tmp_path):
    mean, std = list(np.linspace(-5, 0, 32)), list(np.linspace(1, 2, 32))
    model = _model(feature_mean=mean, feature_std=std, beta=0.5, seed=3)
    x = model.features(_notes(2))
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(x, epochs=1, verbose=0)
    model.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras", safe_mode=True)
    assert isinstance(loaded, NoteVAE) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.feature_mean, mean) and np.testing.assert_allclose(loaded.feature_std, std)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    np.testing.assert_array_equal(loaded.features(_notes(2)), x)
    np.testing.assert_array_equal(loaded.sample(3, seed=4), model.sample(3, seed=4))


def test_tiny_overfit_loss_drops():
    model = _model(kl_warmup_steps=50)
    x = model.features(_notes(8, seed=1))
    model.compile(keras.optimizers.Adam(2e-3))
    first = float(model.losses_for(x, training=False, beta=1.0)["reconstruction_mse"])
    history = model.fit(x, batch_size=8, epochs=80, verbose=0, shuffle=False)
    last = float(model.losses_for(x, training=False, beta=1.0)["reconstruction_mse"])
    assert last < 0.3 * first, (first, last)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_morph_endpoints_are_the_decoded_latents():
    model = _model()
    x = model.features(_notes(2, seed=2))
    path, z = model.morph(x[0], x[1], steps=5)
    assert path.shape == (5, 32, 32) and z.shape == (5, 8)
    mu = np.asarray(model.encode(x)[0])
    np.testing.assert_array_equal(z[0], mu[0]) and np.testing.assert_array_equal(z[-1], mu[1])
    ends = np.asarray(model.decode(mu))
    np.testing.assert_allclose(path[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], ends[1], atol=1e-5)
    np.testing.assert_allclose(z[2], 0.5 * (mu[0] + mu[1]), atol=1e-6)  # the midpoint of the line
    with pytest.raises(ConfigError, match="steps"):
        model.morph(x[0], x[1], steps=1)
    with pytest.raises(AudioError, match="normalized log-mel"):
        model.morph(x[0, :16], x[1, :16])


def test_vocoded_audio_keeps_the_spectrum():
    model = _model(griffin_lim_iterations=16)
    notes = _notes(1, seed=3)
    audio = model.to_waveform(model.features(notes))[0]
    assert np.all(np.isfinite(audio)) and audio.shape == (16000,)
    ref, got = model.log_mel(notes)[0], model.log_mel(audio)[0]
    loud = ref > ref.max() - 6.0  # bands within 26 dB of the peak
    assert np.mean(np.abs(got[loud] - ref[loud])) < 1.0


def test_argument_errors():
    with pytest.raises(ConfigError, match="divisible"):
        NoteVAE(num_frames=30, num_mel_bins=32, channels=[8, 8])
    with pytest.raises(ConfigError, match="feature_mean"):
        NoteVAE(**SMALL, feature_mean=[0.0] * 5)
    with pytest.raises(ConfigError, match="feature_std"):
        NoteVAE(**SMALL, feature_std=[0.0] * 32)
    with pytest.raises(ConfigError, match="latent_dim"):
        NoteVAE(latent_dim=0)
    with pytest.raises(ConfigError, match="beta"):
        NoteVAE(beta=0)
    with pytest.raises(AudioError, match="mono"):
        _model().features(np.zeros((1, 2, 100), np.float32))
