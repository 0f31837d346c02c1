"""zoo.audio: round trips, resampling numerics, and every refused input names what it received."""

import struct
import time
import warnings

import librosa
import numpy as np
import pytest
import soundfile as sf

from zoo.audio import (
    crop_or_pad,
    mix_at_snr,
    read_audio,
    read_wav_pcm16,
    resample,
    rms_db,
    to_mono,
    validate_waveform,
    write_audio,
)
from zoo.errors import AudioError, ConfigError


def _wav_header(channels, sample_rate, bits, data_bytes, fmt_tag=1):
    block = channels * bits // 8
    fmt = struct.pack("<IHHIIHH", 16, fmt_tag, channels, sample_rate, sample_rate * block, block, bits)
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " + fmt
            + b"data" + struct.pack("<I", data_bytes))


def _sine(freq=440.0, sr=16000, seconds=0.5, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --- round trips -------------------------------------------------------------------------------

def test_wav_round_trip_is_exact_to_16_bit(tmp_path):
    x = _sine()
    path = tmp_path / "a.wav"
    assert write_audio(path, x, 16000) == 0
    y, sr = read_audio(path)
    assert sr == 16000 and y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1.0 / 32768)
    assert sf.info(str(path)).subtype == "PCM_16"


def test_flac_round_trip_stereo_channels_first(tmp_path):
    x = np.stack([_sine(440), _sine(660, amp=0.25)])
    path = tmp_path / "a.flac"
    write_audio(path, x, 22050)
    y, sr = read_audio(path, mono=False)
    assert sr == 22050 and y.shape == (2, x.shape[1])
    np.testing.assert_allclose(y, x, atol=1.0 / 32768)
    mono, _ = read_audio(path)
    np.testing.assert_allclose(mono, x.mean(axis=0), atol=1.0 / 32768)


@pytest.mark.parametrize("suffix", [".ogg", pytest.param(".mp3", marks=pytest.mark.skipif(
    "MP3" not in sf.available_formats(), reason="libsndfile built without MP3"))])
def test_lossy_round_trip_keeps_the_tone(tmp_path, suffix):
    x = _sine(1000.0, sr=16000, seconds=1.0)
    path = tmp_path / f"a{suffix}"
    write_audio(path, x, 16000)
    y, sr = read_audio(path)
    assert sr == 16000 and y.dtype == np.float32
    assert abs(len(y) - len(x)) < 2000  # MP3 adds encoder delay/padding
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    peak_hz = np.argmax(spectrum) * sr / len(y)
    assert abs(peak_hz - 1000.0) < 5.0
    assert abs(rms_db(y) - rms_db(x)) < 1.0


def test_read_resamples_like_librosa(tmp_path):
    x = _sine(440, sr=44100, seconds=0.3)
    path = tmp_path / "hi.wav"
    write_audio(path, x, 44100, subtype="FLOAT")
    y, sr = read_audio(path, sample_rate=16000)
    ref = librosa.resample(x, orig_sr=44100, target_sr=16000, res_type="soxr_hq")
    assert sr == 16000 and y.shape == ref.shape
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_resample_preserves_frequency_and_length():
    x = _sine(1000.0, sr=48000, seconds=1.0)
    y = resample(x, 48000, 16000)
    assert y.dtype == np.float32 and y.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over 1 s
    np.testing.assert_allclose(y, librosa.resample(x, orig_sr=48000, target_sr=16000, res_type="soxr_hq"),
                               atol=1e-6)
    stereo = np.stack([x, x])
    assert resample(stereo, 48000, 16000).shape == (2, 16000)
    assert resample(x, 48000, 48000) is not x


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "sub" / "out.wav"
    write_audio(path, _sine(), 16000)
    write_audio(path, _sine(220), 16000)  # overwrite in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.wav"]
    with pytest.raises(AudioError, match="NaN"):
        write_audio(path, np.array([0.0, np.nan], dtype=np.float32), 16000)
    # the failed write left the previous file intact and no temp file behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.wav"]
    y, _ = read_audio(path)
    np.testing.assert_allclose(y, _sine(220), atol=1.0 / 32768)


def test_write_clips_and_counts(tmp_path):
    x = np.array([0.5, 1.5, -2.0, 0.0], dtype=np.float32)
    with pytest.warns(UserWarning, match="clipped 2 of 4"):
        clipped = write_audio(tmp_path / "c.wav", x, 16000)
    assert clipped == 2
    y, _ = read_audio(tmp_path / "c.wav")
    np.testing.assert_allclose(y, [0.5, 32767 / 32768, -1.0, 0.0], atol=1.0 / 32768)


def test_write_refuses_unknown_suffix_and_subtype(tmp_path):
    with pytest.raises(ConfigError, match="'.xyz'"):
        write_audio(tmp_path / "a.xyz", _sine(), 16000)
    with pytest.raises(ConfigError, match="VORBIS"):
        write_audio(tmp_path / "a.wav", _sine(), 16000, subtype="VORBIS")


# --- refused files -----------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found") as err:
        read_audio(tmp_path / "nope.wav")
    assert "nope.wav" in str(err.value) and err.value.fix


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not audio\n" * 4)
    with pytest.raises(AudioError, match="cannot read") as err:
        read_audio(path)
    assert "72 bytes starting with b'this is not " in str(err.value)


def test_truncated_header(tmp_path):
    path = tmp_path / "trunc.wav"
    path.write_bytes(_wav_header(1, 16000, 16, 3200)[:22])
    with pytest.raises(AudioError, match="truncated") as err:
        read_audio(path)
    assert "22 bytes" in str(err.value)


def test_truncated_data_is_not_silently_shortened(tmp_path):
    # libsndfile would clamp this to the 100 samples present and read a "valid" short file
    path = tmp_path / "cut.wav"
    path.write_bytes(_wav_header(1, 16000, 16, 32000) + b"\0" * 200)
    with pytest.raises(AudioError, match="declares 32000 bytes but only 200"):
        read_audio(path)


def test_zero_channels(tmp_path):
    path = tmp_path / "nochan.wav"
    path.write_bytes(_wav_header(0, 16000, 16, 100) + b"\0" * 100)
    with pytest.raises(AudioError, match="received: 0 channels"):
        read_audio(path)


def test_empty_wav(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    with pytest.raises(AudioError, match="empty; received: 0 samples"):
        read_audio(path)


def test_nan_float_wav(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine()
    x[100] = np.nan
    x[200] = np.inf
    sf.write(str(path), x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"2 NaN/Inf samples \(first at sample 100\)"):
        read_audio(path)


def test_three_hour_file_is_refused_from_the_header(tmp_path):
    # A real 3 h file of zeros at 8 kHz, written sparse: header plus a hole, no data bytes.
    path = tmp_path / "long.wav"
    nbytes = 3 * 3600 * 8000 * 2
    with open(path, "wb") as f:
        f.write(_wav_header(1, 8000, 16, nbytes))
        f.truncate(44 + nbytes)
    start = time.perf_counter()
    with pytest.raises(AudioError, match=r"too long; received: 10800.0 s") as err:
        read_audio(path)
    assert time.perf_counter() - start < 1.0
    assert "at most 600 s" in str(err.value)
    # a header that merely claims 3 h over a few bytes is a truncated file
    claim = tmp_path / "claim.wav"
    claim.write_bytes(_wav_header(1, 8000, 16, nbytes) + b"\0" * 64)
    with pytest.raises(AudioError, match="truncated"):
        read_audio(claim)


@pytest.mark.parametrize("rate", [4000, 384000])
def test_unsupported_sample_rate(tmp_path, rate):
    path = tmp_path / "rate.wav"
    path.write_bytes(_wav_header(1, rate, 16, 200) + b"\0" * 200)
    with pytest.raises(AudioError, match=f"received: {rate} Hz"):
        read_audio(path)


def test_float_file_over_full_scale_is_clipped_with_warning(tmp_path):
    path = tmp_path / "hot.wav"
    sf.write(str(path), np.array([0.0, 1.5, -3.0, 0.25], dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="clipped 2 samples"):
        y, _ = read_audio(path)
    np.testing.assert_array_equal(y, [0.0, 1.0, -1.0, 0.25])


# --- strict 16-bit reader ------------------------------------------------------------------------

def test_read_wav_pcm16_matches_int16_scaling(tmp_path):
    ints = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    path = tmp_path / "p.wav"
    sf.write(str(path), ints, 16000, subtype="PCM_16")
    y, sr = read_wav_pcm16(path)
    assert sr == 16000 and y.dtype == np.float32
    np.testing.assert_array_equal(y, ints.astype(np.float32) / 32768.0)


@pytest.mark.parametrize("subtype,fix", [("PCM_U8", "-b 16 -e signed-integer"), ("FLOAT", "-b 16 -e signed-integer"),
                                         ("PCM_24", "-b 16 -e signed-integer")])
def test_read_wav_pcm16_refuses_other_subtypes(tmp_path, subtype, fix):
    path = tmp_path / "x.wav"
    sf.write(str(path), _sine(), 16000, subtype=subtype)
    with pytest.raises(AudioError, match=f"subtype {subtype}") as err:
        read_wav_pcm16(path)
    assert f"sox x.wav {fix} out.wav" in str(err.value)


def test_read_wav_pcm16_refuses_flac(tmp_path):
    path = tmp_path / "x.flac"
    write_audio(path, _sine(), 16000)
    with pytest.raises(AudioError, match="format FLAC, subtype PCM_16"):
        read_wav_pcm16(path)


# --- array helpers -------------------------------------------------------------------------------

def test_to_mono():
    x = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]], dtype=np.float32)
    np.testing.assert_array_equal(to_mono(x), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(to_mono(x[0]), x[0])
    with pytest.raises(AudioError, match=r"time-first; received: shape \(16000, 2\)"):
        to_mono(np.zeros((16000, 2), dtype=np.float32))


def test_crop_or_pad():
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(crop_or_pad(x, 4), [0, 1, 2, 3])
    np.testing.assert_array_equal(crop_or_pad(x, 4, offset=3), [3, 4, 5, 6])
    np.testing.assert_array_equal(crop_or_pad(x, 4, offset="center"), [3, 4, 5, 6])
    np.testing.assert_array_equal(crop_or_pad(x[:3], 5), [0, 1, 2, 0, 0])
    np.testing.assert_array_equal(crop_or_pad(x[:3], 7, offset="center"), [0, 0, 0, 1, 2, 0, 0])
    np.testing.assert_array_equal(crop_or_pad(x[:3], 5, offset=-2), [0, 0, 0, 1, 2])
    assert crop_or_pad(np.ones((2, 10)), 16).shape == (2, 16)
    a = crop_or_pad(x, 4, offset="random", rng=np.random.default_rng(3))
    b = crop_or_pad(x, 4, offset="random", rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert np.all(np.diff(a) == 1) and 0 <= a[0] <= 6
    starts = {int(crop_or_pad(x, 4, offset="random", rng=np.random.default_rng(s))[0]) for s in range(60)}
    assert starts == set(range(7))
    padded = crop_or_pad(x[:3], 6, offset="random", rng=np.random.default_rng(0))
    assert padded.shape == (6,) and sorted(padded[padded > 0]) == [1, 2]
    with pytest.raises(ConfigError, match="rng"):
        crop_or_pad(x, 4, offset="random")
    with pytest.raises(ConfigError, match="'middle'"):
        crop_or_pad(x, 4, offset="middle")


def test_validate_waveform():
    x = validate_waveform(np.zeros(16000, dtype=np.float64), sample_rate=16000)
    assert x.dtype == np.float32
    with pytest.raises(AudioError, match="received: dtype int16") as err:
        validate_waveform(np.zeros(10, dtype=np.int16), sample_rate=16000, name="mixture")
    assert "mixture" in str(err.value) and "/ 32768" in str(err.value)
    with pytest.raises(AudioError, match=r"shape \(1, 2, 3\)"):
        validate_waveform(np.zeros((1, 2, 3), dtype=np.float32), sample_rate=16000)
    with pytest.raises(AudioError, match=r"empty; received: shape \(0,\)"):
        validate_waveform(np.zeros(0, dtype=np.float32), sample_rate=16000)
    with pytest.raises(AudioError, match="1 NaN/Inf of 3"):
        validate_waveform(np.array([0.0, np.inf, 0.0], dtype=np.float32), sample_rate=16000)
    with pytest.raises(AudioError, match="received: 2.0 s"):
        validate_waveform(np.zeros(32000, dtype=np.float32), sample_rate=16000, max_seconds=1.0)
    with pytest.raises(AudioError, match="peak 1000"):
        validate_waveform(np.array([0.0, 1000.0], dtype=np.float32), sample_rate=16000)
    with pytest.raises(ConfigError, match="received: 4000 Hz"):
        validate_waveform(np.zeros(10, dtype=np.float32), sample_rate=4000)


def test_rms_db_closed_forms():
    sine = np.sin(2 * np.pi * np.arange(16000) * 100 / 16000)
    assert rms_db(sine) == pytest.approx(-3.0103, abs=1e-3)
    assert rms_db(0.1 * np.ones(10)) == pytest.approx(-20.0, abs=1e-6)
    assert rms_db(np.zeros(10)) == pytest.approx(-200.0)


@pytest.mark.parametrize("snr", [-5.0, 0.0, 20.0])
def test_mix_at_snr(snr):
    rng = np.random.default_rng(0)
    signal = _sine(seconds=1.0)
    noise = rng.standard_normal(signal.shape).astype(np.float32)
    mixture = mix_at_snr(signal, noise, snr)
    assert mixture.dtype == np.float32
    assert rms_db(signal) - rms_db(mixture - signal) == pytest.approx(snr, abs=1e-3)
    with pytest.raises(AudioError, match=r"\(16000,\) vs \(10,\)"):
        mix_at_snr(signal, noise[:10], snr)
    with pytest.raises(AudioError, match="silent noise"):
        mix_at_snr(signal, np.zeros_like(signal), snr)


def test_no_warning_for_clean_reads(tmp_path):
    path = tmp_path / "ok.wav"
    write_audio(path, _sine(), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_audio(path)


def test_clip_false_keeps_overshoot_for_rescaling(tmp_path):
    path = tmp_path / "hot.wav"
    sf.write(str(path), np.array([0.0, 1.5, -3.0, 0.25], dtype=np.float32), 16000, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, _ = read_audio(path, clip=False)
    np.testing.assert_array_equal(y, [0.0, 1.5, -3.0, 0.25])
