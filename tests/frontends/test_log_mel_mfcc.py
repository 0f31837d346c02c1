"""LogMelSpectrogram and MFCC against librosa and scipy."""

import librosa
import numpy as np
import pytest
import scipy.fft

from zoo.errors import ConfigError
from zoo.families.recognition.kws_protocol import KWS_LOGMEL, KWS_NUM_FEATURES, KWS_NUM_FRAMES
from zoo.frontends import MFCC, LogMelSpectrogram, build_frontend
from zoo.frontends.mfcc import DB_PER_NEPER, dct_ii_matrix

KW = dict(sample_rate=16000, frame_length=400, frame_step=160, fft_length=512, num_mel_bins=40,
          fmin=20.0, fmax=7600.0)


def librosa_mel(y, librosa_pad, power=2.0, frame_length=400, fft_length=512):
    return librosa.feature.melspectrogram(
        y=librosa_pad(y, frame_length, fft_length), sr=16000, n_fft=fft_length, hop_length=160,
        win_length=frame_length, window="hann", center=False, power=power, n_mels=40, fmin=20.0,
        fmax=7600.0, htk=False, norm="slaney").T


def test_filterbank_is_librosas():
    layer = LogMelSpectrogram(**KW)
    ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=20.0, fmax=7600.0, htk=False,
                              norm="slaney")
    np.testing.assert_array_equal(layer.mel_matrix, ref.T.astype(np.float32))
    assert layer.trainable_weights == [] and layer.weights == []  # a constant, not a weight


@pytest.mark.parametrize("power", [2.0, 1.0])
def test_log_mel_matches_librosa(signal, librosa_pad, power):
    ours = LogMelSpectrogram(**KW, power=power)(signal[None]).numpy()[0]
    ref = np.log(librosa_mel(signal, librosa_pad, power=power) + 1e-6)
    assert ours.shape == ref.shape == (98, 40)
    # float32 vs float64: log errors ~3e-6 measured.
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_log_mel_non_power_of_two_fft(signal, librosa_pad):
    kw = dict(KW, fft_length=400)
    ours = LogMelSpectrogram(**kw)(signal[None]).numpy()[0]
    ref = librosa.feature.melspectrogram(
        y=signal.astype(np.float64), sr=16000, n_fft=400, hop_length=160, window="hann",
        center=False, power=2.0, n_mels=40, fmin=20.0, fmax=7600.0)
    np.testing.assert_allclose(ours, np.log(ref.T + 1e-6), atol=1e-4)


def test_kws_preset_frontend_shape(signal):
    layer = build_frontend(KWS_LOGMEL)
    assert isinstance(layer, LogMelSpectrogram)
    assert layer(signal[None]).shape == (1, KWS_NUM_FRAMES, KWS_NUM_FEATURES)


def test_empty_mel_filters_and_bad_band_raise():
    with pytest.raises(ConfigError, match="mel filters cover no FFT bin"):
        LogMelSpectrogram(16000, 256, 128, 256, 128, 0.0, 8000.0)
    with pytest.raises(ConfigError, match="mel band edges out of range"):
        LogMelSpectrogram(16000, 400, 160, 512, 40, 20.0, 9000.0)


def test_dct_matrix_is_scipy_orthonormal_dct():
    x = np.random.default_rng(1).standard_normal((7, 40))
    np.testing.assert_allclose(x @ dct_ii_matrix(40, 13),
                               scipy.fft.dct(x, type=2, norm="ortho", axis=-1)[:, :13], atol=1e-5)


def test_mfcc_matches_scipy_and_librosa_on_our_log_mel(signal):
    kw = dict(KW, num_coefficients=13)
    mfcc = MFCC(**kw)
    ours = mfcc(signal[None]).numpy()[0]
    log_mel = LogMelSpectrogram(**KW)(signal[None]).numpy()[0].astype(np.float64)
    assert ours.shape == (98, 13)
    np.testing.assert_allclose(ours, scipy.fft.dct(log_mel, type=2, norm="ortho")[:, :13], atol=1e-4)
    ref = librosa.feature.mfcc(S=log_mel.T, n_mfcc=13, dct_type=2, norm="ortho").T
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_mfcc_db_scale_matches_librosa_from_waveform(signal, librosa_pad):
    # librosa.feature.mfcc(y=...) uses power_to_db = 10 log10(max(S, 1e-10)) (top_db=80 does not
    # clip this signal: its mel range is < 80 dB); db_scale=True multiplies our ln by 10 / ln 10.
    ours = MFCC(**KW, num_coefficients=20, log_offset=1e-10, db_scale=True)(signal[None]).numpy()[0]
    ref = librosa.feature.mfcc(
        y=librosa_pad(signal, 400, 512), sr=16000, n_mfcc=20, dct_type=2, norm="ortho",
        n_fft=512, hop_length=160, win_length=400, window="hann", center=False, n_mels=40,
        fmin=20.0, fmax=7600.0).T
    mel_db = 10 * np.log10(librosa_mel(signal, librosa_pad))
    assert mel_db.max() - mel_db.min() < 80.0  # precondition of the comparison
    # dB values are 4.34x the natural log, so the float32 error scales too: 1e-3 absolute.
    np.testing.assert_allclose(ours, ref, atol=1e-3)
    plain = MFCC(**KW, num_coefficients=20, log_offset=1e-10)(signal[None]).numpy()[0]
    np.testing.assert_allclose(plain * DB_PER_NEPER, ours, rtol=1e-5, atol=1e-4)


def test_mfcc_rejects_too_many_coefficients():
    with pytest.raises(ConfigError, match="more coefficients than mel bins"):
        MFCC(**KW, num_coefficients=41)
