"""Synthesis metrics against closed forms: MCD, MR-STFT distance, RTF, nearest neighbours, inception score."""

import time

import librosa
import numpy as np
import pytest

from zoo.errors import AudioError, ConfigError
from zoo.metrics import synthesis as ms

SR = 16000


def speechlike(seconds=1.0, seed=0):
    """Noise bursts through changing resonances: every frame has energy in every mel band."""
    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    t = np.arange(n) / SR
    x = 0.05 * rng.standard_normal(n)
    for f0 in (220.0, 330.0):
        x += 0.1 * np.sin(2 * np.pi * f0 * t * (1 + 0.3 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return x


def test_mcd_is_zero_for_identical_audio():
    x = speechlike()
    assert ms.mel_cepstral_distortion(x, x, SR) == 0.0
    assert ms.mel_cepstral_distortion(x, x, SR, include_c0=True, dtw=False) == 0.0


def test_mcd_of_a_gain_change_matches_the_closed_form():
    x, gain = speechlike(), 0.5
    assert ms.mel_cepstral_distortion(x, gain * x, SR) < 1e-6  # c0 excluded: energy only
    # With c0: the log amplitude moves by ln(gain) in every band, so c0 (its mean) by ln(gain).
    expected = ms.MCD_CONSTANT * abs(np.log(gain))
    assert ms.mel_cepstral_distortion(x, gain * x, SR, include_c0=True) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(10 / np.log(10) * np.sqrt(2) * np.log(2))  # 4.26 dB


def test_mcd_cepstra_are_librosa_mfcc_of_log_amplitude():
    x = speechlike(0.5)
    mel = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=1024, hop_length=256, n_mels=80)
    expected = librosa.feature.mfcc(S=np.log(mel) / 2, n_mfcc=13, norm="ortho").T
    c = ms.mel_cepstra(x, SR)
    # The orthonormal DCT rescaled to cepstral units: c_0 = mean log amplitude, c_n = y_n / sqrt(2 * 80).
    np.testing.assert_allclose(c[:, 0], np.log(mel).mean(axis=0) / 2, rtol=1e-10)
    np.testing.assert_allclose(c[:, 0], expected[:, 0] / np.sqrt(80), rtol=1e-10)
    np.testing.assert_allclose(c[:, 1:], expected[:, 1:] / np.sqrt(160), rtol=1e-10)


def test_mcd_dtw_absorbs_a_time_shift():
    x = speechlike(1.0)
    shifted = np.concatenate([np.zeros(2048), x])[: len(x) + 2048]
    with_dtw = ms.mel_cepstral_distortion(x, shifted, SR)
    without = ms.mel_cepstral_distortion(x, shifted, SR, dtw=False)
    other = ms.mel_cepstral_distortion(x, speechlike(1.0, seed=1) * 0.3 + 0.7 * np.roll(x, 5000), SR)
    assert with_dtw < 0.5 * without
    assert with_dtw < other


def test_mr_stft_distance_closed_forms():
    x = speechlike()
    same = ms.mr_stft_distance(x, x)
    assert same == {"spectral_convergence": 0.0, "log_magnitude": 0.0, "total": 0.0}
    d = ms.mr_stft_distance(x, 0.5 * x)  # SC = |1 - g|, log-magnitude L1 = |ln g|
    assert d["spectral_convergence"] == pytest.approx(0.5, rel=1e-4)
    assert d["log_magnitude"] == pytest.approx(np.log(2), rel=1e-4)
    assert d["total"] == pytest.approx(0.5 + np.log(2), rel=1e-4)
    longer = ms.mr_stft_distance(x, np.concatenate([x, np.ones(100)]))  # cropped to the reference
    assert longer["total"] == 0.0


def test_real_time_factor():
    assert ms.real_time_factor(0.5, 32000, 16000) == 0.25
    rtf = ms.measure_real_time_factor(lambda: time.sleep(0.01), 16000, 16000, repeats=3)
    assert 0.01 <= rtf < 0.2
    with pytest.raises(ConfigError, match="processing_seconds"):
        ms.real_time_factor(-1.0, 100, 16000)


def test_nearest_neighbour_distances_closed_form():
    generated = np.array([[0.0, 0.0], [3.0, 0.0], [7.0, 0.0]])
    assert ms.nearest_neighbour_diversity(generated) == pytest.approx((3 + 3 + 4) / 3)
    training = np.array([[1.0, 0.0], [10.0, 0.0]])
    assert ms.nearest_neighbour_originality(generated, training) == pytest.approx((1 + 2 + 3) / 3)
    assert ms.nearest_neighbour_diversity(np.repeat(generated[:1], 4, axis=0)) == 0.0  # mode collapse
    assert ms.nearest_neighbour_originality(training, training) == 0.0  # memorised


def test_normalized_log_mel_standardises_per_band():
    clips = np.stack([speechlike(0.5, seed=s) * g for s, g in ((0, 1.0), (1, 0.5), (2, 0.25))])
    features, mean, std = ms.normalized_log_mel(clips, SR)
    frames = features.shape[1] // 64
    assert features.shape == (3, 64 * frames) and mean.shape == std.shape == (64,)
    per_band = features.reshape(3, 64, frames)
    np.testing.assert_allclose(per_band.mean(axis=(0, 2)), 0.0, atol=1e-9)
    np.testing.assert_allclose(per_band.std(axis=(0, 2)), 1.0, atol=1e-9)
    again, _, _ = ms.normalized_log_mel(clips[:1], SR, mean=mean, std=std)  # training statistics reused
    np.testing.assert_allclose(again[0], features[0])
    with pytest.raises(AudioError, match="equal-length"):
        ms.normalized_log_mel(clips[0], SR)


def test_inception_score_closed_forms():
    c = 5
    uniform = np.full((20, c), 1 / c)
    assert ms.inception_score(uniform) == pytest.approx((1.0, 0.0))
    one_hot = np.eye(c)[np.arange(20) % c]
    assert ms.inception_score(one_hot)[0] == pytest.approx(c)
    assert ms.inception_score(np.eye(c)[np.zeros(20, int)])[0] == pytest.approx(1.0)  # one class only
    mean, std = ms.inception_score(one_hot, num_splits=4)
    assert mean == pytest.approx(c) and std == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="distributions"):
        ms.inception_score(np.ones((3, 2)))


def test_inputs_are_checked():
    with pytest.raises(AudioError, match="mono"):
        ms.mel_cepstral_distortion(np.zeros((2, 100)), np.zeros(100), SR)
    with pytest.raises(AudioError, match="NaN"):
        ms.mr_stft_distance(np.full(4000, np.nan), np.zeros(4000))
    with pytest.raises(ConfigError, match="sample_rate"):
        ms.mel_cepstra(np.zeros(1000), 0)
    with pytest.raises(ConfigError, match="at least two"):
        ms.nearest_neighbour_diversity(np.zeros((1, 3)))
