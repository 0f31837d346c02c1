"""zoo.baselines: the classical enhancers' common contract, their gains on a synthetic noisy
voiced signal, and AuxIVA/ILRMA on an instantaneous 2x2 mixture."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.baselines import ENHANCERS, get_enhancer
from zoo.baselines.bss import match_sources, separate
from zoo.errors import AudioError, ConfigError
from zoo.metrics.separation import si_sdr, si_sdr_improvement

SR = 16000


def voiced(seconds: float, f0: float, seed: int, rate: float = 0.7) -> np.ndarray:
    """Speech-like test signal: a gliding harmonic tone with a random syllable-rate envelope."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    env = np.repeat(rng.uniform(0.0, 1.0, n // 1600 + 1) ** 2, 1600)[:n]
    env = np.convolve(env, np.hanning(801) / np.hanning(801).sum(), mode="same")  # no clicks
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * rate * t))) / SR
    return env * sum(np.sin(k * phase) / k for k in range(1, 12))


@pytest.fixture(scope="module")
def noisy_pair():
    clean = 0.1 * voiced(2.0, 140.0, seed=0)
    clean[:4000] = 0.0  # a noise-only lead-in, as in real recordings
    noise = np.random.default_rng(1).standard_normal(clean.size) * 0.02
    scale = np.sqrt(np.mean(clean**2) / np.mean(noise**2))  # 0 dB SNR
    return clean, (clean + noise * scale).astype(np.float32)


@pytest.fixture(scope="module")
def outputs(noisy_pair):
    _, noisy = noisy_pair
    return {name: get_enhancer(name)(noisy, SR) for name in ENHANCERS}


@pytest.mark.parametrize("name", ENHANCERS)
def test_enhancer_keeps_length_dtype_and_is_finite(name, noisy_pair, outputs):
    _, noisy = noisy_pair
    y = outputs[name]
    assert y.shape == noisy.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.any(y != 0)


@pytest.mark.parametrize("name", ENHANCERS)
def test_enhancer_improves_snr_or_si_sdr(name, noisy_pair, outputs):
    clean, noisy = noisy_pair
    y = outputs[name].astype(np.float64)

    def snr(z):
        return 10 * np.log10(np.sum(clean**2) / np.sum((z - clean) ** 2))

    d_snr = snr(y) - snr(noisy)
    d_si = (si_sdr(clean[None], y[None], compute_permutation=False)
            - si_sdr(clean[None], noisy[None], compute_permutation=False))[0]
    assert max(d_snr, d_si) > 1.0, (name, d_snr, d_si)


@pytest.mark.parametrize("name", ENHANCERS)
def test_enhancer_output_is_time_aligned(name, noisy_pair, outputs):
    clean, _ = noisy_pair
    y = outputs[name].astype(np.float64)
    lags = np.arange(-300, 301)
    corr = [np.dot(clean[max(0, -k): clean.size - max(0, k)], y[max(0, k): y.size - max(0, -k)]) for k in lags]
    # RNNoise's gains are not zero-phase: its peak may sit a sample off; a missed frame delay is >= 160
    assert abs(lags[int(np.argmax(corr))]) <= 2


@pytest.mark.parametrize("name", ENHANCERS)
def test_enhancer_odd_lengths(name):
    x = (0.05 * np.random.default_rng(2).standard_normal(1234)).astype(np.float32)
    y = get_enhancer(name)(x, 8000)
    assert y.shape == (1234,) and np.all(np.isfinite(y))


@pytest.mark.parametrize("name", ENHANCERS)
@pytest.mark.parametrize("bad, message", [
    (np.zeros(0, np.float32), "is empty"),
    (np.array([0.1, np.nan, 0.2] * 400, np.float32), "non-finite"),
    (np.zeros((2, 1600), np.float32), "one mono waveform"),
    (np.zeros((1, 1, 1600), np.float32), "one mono waveform"),
    (np.zeros(1600, np.int16), "wrong dtype"),
])
def test_enhancer_rejects_bad_input(name, bad, message):
    with pytest.raises(AudioError, match=message) as info:
        get_enhancer(name)(bad, SR)
    assert info.value.fix


@pytest.mark.parametrize("name", ENHANCERS)
def test_enhancer_rejects_bad_sample_rate(name):
    with pytest.raises(ConfigError, match="sample_rate"):
        get_enhancer(name)(np.zeros(1600, np.float32), 16000.0)


def test_unknown_enhancer():
    with pytest.raises(ConfigError, match="unknown enhancement baseline") as info:
        get_enhancer("dtln")
    assert "rnnoise" in str(info.value)


@pytest.fixture(scope="module")
def instantaneous():
    s = np.stack([voiced(2.5, 130.0, seed=2, rate=0.5), voiced(2.5, 210.0, seed=3, rate=0.8)])
    mixing = np.array([[1.0, 0.7], [0.6, 1.0]])
    x = (0.2 * mixing @ s).astype(np.float32)
    return x, 0.2 * mixing[0][:, None] * s  # references: each source's image at mic 0


@pytest.mark.parametrize("method", ["auxiva", "ilrma"])
def test_bss_separates_instantaneous_mixture(method, instantaneous):
    x, refs = instantaneous
    # ILRMA converges more slowly than AuxIVA from its random NMF start
    y = separate(x, SR, method=method, n_fft=512, n_iter=20 if method == "auxiva" else 50)
    assert y.shape == x.shape and y.dtype == np.float32
    est, idx = match_sources(refs, y)
    assert sorted(idx.tolist()) == [0, 1]
    assert np.all(si_sdr_improvement(refs, est, x[0], compute_permutation=False) > 10.0)


def test_overdetermined_auxiva_returns_requested_sources(instantaneous):
    x, refs = instantaneous
    y = separate(np.concatenate([x, x[:1] + x[1:]]), SR, n_src=2, n_fft=512, n_iter=20)
    assert y.shape == (2, x.shape[1])


def test_match_sources_finds_subset_and_order():
    rng = np.random.default_rng(4)
    refs = rng.standard_normal((2, 4000))
    est = np.stack([rng.standard_normal(4000), 0.5 * refs[1], 2.0 * refs[0] + 0.01 * rng.standard_normal(4000)])
    matched, idx = match_sources(refs, est)
    assert idx.tolist() == [2, 1]
    np.testing.assert_allclose(matched[1], 0.5 * refs[1], rtol=1e-6)
    with pytest.raises(AudioError, match="do not match"):
        match_sources(refs, est[:1])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"method": "fastmnmf"}, ConfigError, "unknown BSS method"),
    ({"n_src": 3}, ConfigError, "n_src is out of range"),
    ({"method": "ilrma", "n_src": 1}, ConfigError, "determined only"),
    ({"n_fft": 1 << 16}, AudioError, "shorter than one STFT frame"),
])
def test_separate_rejects_bad_options(kwargs, error, message, instantaneous):
    x, _ = instantaneous
    with pytest.raises(error, match=message):
        separate(x, SR, **kwargs)


@pytest.mark.parametrize("bad, message", [
    (np.zeros(3200, np.float32), "multichannel"),
    (np.zeros((1, 3200), np.float32), "multichannel"),
    (np.full((2, 3200), np.nan, np.float32), "non-finite"),
    (np.zeros((2, 0), np.float32), "is empty"),
])
def test_separate_rejects_bad_input(bad, message):
    with pytest.raises(AudioError, match=message):
        separate(bad, SR)


def test_ilrma_is_deterministic_and_leaves_global_rng_alone(instantaneous):
    x, _ = instantaneous
    np.random.seed(123)
    expected_next = np.random.rand()
    np.random.seed(123)
    a = separate(x, SR, method="ilrma", n_fft=512, n_iter=5, seed=7)
    assert np.random.rand() == expected_next
    b = separate(x, SR, method="ilrma", n_fft=512, n_iter=5, seed=7)
    np.testing.assert_array_equal(a, b)


def test_rnnoise_missing_library_is_a_config_error(monkeypatch):
    import importlib.util

    from zoo.baselines import rnnoise

    monkeypatch.setattr(rnnoise._Library, "_cache", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="RNNoise is not installed") as info:
        rnnoise._library()
    assert "pip install pyrnnoise" in info.value.fix
