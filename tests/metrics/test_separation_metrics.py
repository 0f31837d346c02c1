"""Separation metrics: agreement with fast-bss-eval, pesq and pystoi called directly; errors; oracle masks."""

import numpy as np
import pytest

from zoo.errors import AudioError, ConfigError
from zoo.metrics import separation as sep


def _speechlike(sample_rate, seconds=2.0, f0=140.0, seed=0):
    """Voiced syllables: harmonics of a gliding f0 under a 4 Hz syllable envelope, plus breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))) / sample_rate
    x = sum(np.sin(k * phase) / k for k in range(1, 12) if k * f0 * 1.2 < sample_rate / 2)
    env = np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None) ** 0.5
    return (0.3 * env * x + 0.003 * rng.standard_normal(len(t))).astype(np.float64)


@pytest.fixture
def separation_case():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((2, 3, 4000))
    noise = rng.standard_normal(ref.shape) * np.array([0.05, 0.3, 1.0])[:, None]
    est = ref[:, [2, 0, 1]] + noise  # estimate j holds reference perm^-1(j)
    return ref, est


def test_bss_eval_agrees_with_fast_bss_eval(separation_case):
    import fast_bss_eval

    ref, est = separation_case
    got = sep.bss_eval(ref, est)
    sdr, sir, sar, perm = fast_bss_eval.bss_eval_sources(ref, est)
    for key, value in zip(("sdr", "sir", "sar", "perm"), (sdr, sir, sar, perm)):
        np.testing.assert_allclose(got[key], value)
    np.testing.assert_array_equal(got["perm"], [[1, 2, 0], [1, 2, 0]])  # estimate of reference i
    # Without a permutation: the same numbers once the estimates are put in reference order.
    aligned = np.take_along_axis(est, got["perm"][..., None], axis=-2)
    fixed = sep.bss_eval(ref, aligned, compute_permutation=False)
    for key in ("sdr", "sir", "sar"):
        np.testing.assert_allclose(fixed[key], got[key], atol=1e-6)
    assert np.all(sep.bss_eval(ref, est, compute_permutation=False)["sir"] < got["sir"] - 10)


def test_si_sdr_agrees_with_fast_bss_eval_and_closed_form(separation_case):
    from fast_bss_eval.numpy.scale_invariant import si_sdr as direct

    ref, est = separation_case
    values, perm = sep.si_sdr(ref, est, return_perm=True)
    want, want_perm = direct(ref, est, zero_mean=True, return_perm=True)
    np.testing.assert_allclose(values, want)
    np.testing.assert_array_equal(perm, want_perm)
    aligned = np.take_along_axis(est, perm[..., None], axis=-2)
    np.testing.assert_allclose(sep.si_sdr(ref, aligned, compute_permutation=False), values, atol=1e-6)
    # Closed form: noise orthogonal to the reference at 10 dB.
    rng = np.random.default_rng(1)
    s = rng.standard_normal(8000)
    s -= s.mean()
    n = rng.standard_normal(8000)
    n -= n.mean()
    n -= n @ s / (s @ s) * s
    n *= np.sqrt((s @ s) / (n @ n) / 10)
    assert float(sep.si_sdr(s[None], 2 * (s + n)[None])[0]) == pytest.approx(10.0, abs=1e-6)


def test_si_sdr_improvement():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((2, 4000))
    mix = ref.sum(0)
    np.testing.assert_allclose(sep.si_sdr_improvement(ref, np.stack([mix, mix]), mix), [0.0, 0.0], atol=1e-9)
    better = sep.si_sdr_improvement(ref, ref[::-1] + 0.01 * rng.standard_normal(ref.shape), mix)
    assert np.all(better > 30)
    with pytest.raises(AudioError, match="mixture shape"):
        sep.si_sdr_improvement(ref, ref, mix[:100])


@pytest.mark.parametrize("fn", [sep.bss_eval, sep.si_sdr])
def test_separation_metrics_reject_bad_input(fn):
    ref = np.zeros((2, 1000)) + 1.0
    with pytest.raises(AudioError, match="shapes differ"):
        fn(ref, ref[:, :999])
    with pytest.raises(AudioError, match="wrong rank"):
        fn(ref[0], ref[0])
    bad = ref.copy()
    bad[0, 3] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        fn(ref, bad)


@pytest.mark.parametrize("sample_rate", [8000, 16000])
def test_pesq_matches_direct_call(sample_rate):
    from pesq import pesq

    ref = _speechlike(sample_rate)
    deg = ref + 0.02 * np.random.default_rng(3).standard_normal(len(ref))
    mode = "wb" if sample_rate == 16000 else "nb"
    assert sep.pesq_score(ref, deg, sample_rate) == pytest.approx(pesq(sample_rate, ref, deg, mode))
    assert sep.pesq_score(ref, ref, sample_rate) > sep.pesq_score(ref, deg, sample_rate)
    batch = sep.pesq_score(np.stack([ref, ref]), np.stack([ref, deg]), sample_rate)
    assert batch.shape == (2,) and batch[1] == pytest.approx(pesq(sample_rate, ref, deg, mode))


def test_pesq_errors():
    ref = _speechlike(16000)
    with pytest.raises(ConfigError, match="8 kHz .* and 16 kHz"):
        sep.pesq_score(ref, ref, 44100)
    with pytest.raises(AudioError, match="PESQ of a silent signal"):
        sep.pesq_score(np.zeros(16000), np.zeros(16000), 16000)
    with pytest.raises(AudioError, match="PESQ failed"):
        sep.pesq_score(ref[:1000], ref[:1000], 16000)  # shorter than PESQ's minimum
    with pytest.raises(AudioError, match="shapes differ"):
        sep.pesq_score(ref, ref[:-1], 16000)


def test_stoi_matches_direct_call():
    from pystoi import stoi

    ref = _speechlike(16000, seconds=3.0)
    deg = ref + 0.1 * np.random.default_rng(4).standard_normal(len(ref))
    assert sep.stoi_score(ref, deg, 16000) == pytest.approx(stoi(ref, deg, 16000))
    assert sep.stoi_score(ref, deg, 16000, extended=True) == pytest.approx(stoi(ref, deg, 16000, extended=True))
    assert sep.stoi_score(ref, ref, 16000) > 0.99 > sep.stoi_score(ref, deg, 16000)
    assert sep.stoi_score(np.stack([ref, ref]), np.stack([ref, deg]), 16000).shape == (2,)


def test_oracle_masks():
    sr = 8000
    a, b = _speechlike(sr, f0=110.0, seed=5), _speechlike(sr, f0=230.0, seed=6)[::-1].copy()
    sources = np.stack([a, b])
    mix = sources.sum(0)
    est = sep.oracle_masks(sources, n_fft=256, hop_length=64)
    assert set(est) == set(sep.MASKS)
    base = sep.si_sdr(sources, np.stack([mix, mix]), compute_permutation=False)
    for name, x in est.items():
        assert x.shape == sources.shape
        gain = sep.si_sdr(sources, x, compute_permutation=False) - base
        assert np.all(gain > 8.0), (name, gain)
    # Ratio masks sum to one, so their estimates sum back to the mixture (STFT round trip).
    np.testing.assert_allclose(est["irm"].sum(0), mix, atol=1e-8)
    # With noise in the mixture, the residual acts as an interferer and is not handed to any source.
    noise = 0.05 * np.random.default_rng(7).standard_normal(len(mix))
    noisy = sep.oracle_masks(sources, mix + noise, masks=("irm",))["irm"]
    assert np.linalg.norm(noisy.sum(0) - mix) < 0.9 * np.linalg.norm(noise)
    # Batched input works per example.
    batched = sep.oracle_masks(np.stack([sources, sources]), masks=("ibm",))["ibm"]
    np.testing.assert_allclose(batched[1], sep.oracle_masks(sources, masks=("ibm",))["ibm"], atol=1e-12)
    with pytest.raises(ConfigError, match="unknown oracle masks"):
        sep.oracle_masks(sources, masks=("ratio",))
    with pytest.raises(AudioError, match="mixture shape"):
        sep.oracle_masks(sources, mix[:-1])
