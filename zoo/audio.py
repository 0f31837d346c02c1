"""Waveform I/O and checks: read, write, resample, validate (DESIGN.md 4.9).

Canonical layout: float32 in [-1, 1], shape [T] (mono) or [channels, T] (channels first),
sample rate an int in Hz. Decoding goes through soundfile (libsndfile: WAV, FLAC, OGG, MP3 and
more); resampling through librosa with soxr. Every failure is an AudioError that says what was
received, what was expected and how to fix it.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np

from zoo.errors import AudioError, ConfigError

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
# Peaks above this are not "slightly over full scale" but unnormalised integer PCM.
_UNNORMALISED_PEAK = 2.0
# A [T, C] array passed where [C, T] is expected has a long first axis.
_MAX_CHANNELS = 64
_SUPPORTED = "WAV, FLAC, OGG/Vorbis/Opus, MP3 (anything libsndfile decodes)"


def _sf():
    # soundfile loads libsndfile; keep that off the import path of `zoo` (DESIGN.md 4.11).
    import soundfile

    return soundfile


def _check_sample_rate(sample_rate, what: str, error=AudioError) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise error(
            f"{what} must be an int in Hz",
            received=f"{sample_rate!r} ({type(sample_rate).__name__})",
            expected=f"int between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE}",
            fix="pass the rate as an integer, e.g. 16000",
        )
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise error(
            f"unsupported {what}",
            received=f"{int(sample_rate)} Hz",
            expected=f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz",
            fix="resample the audio first (e.g. `sox in.wav -r 16000 out.wav`)",
        )
    return int(sample_rate)


def _riff_check(path: Path) -> None:
    """Catch what libsndfile silently repairs or reports vaguely in WAV files.

    libsndfile clamps a data chunk that claims more bytes than the file holds (a truncated
    download then reads as a shorter, valid file) and gives a generic message for 0 channels.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(65536)
    if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return  # not a plain RIFF WAV (RF64, FLAC, ...): libsndfile judges it
    endian = "<" if head[:4] == b"RIFF" else ">"
    pos = 12
    while pos + 8 <= len(head):
        cid = head[pos : pos + 4]
        (clen,) = struct.unpack(endian + "I", head[pos + 4 : pos + 8])
        body = pos + 8
        if cid == b"fmt " and body + 4 <= len(head):
            (channels,) = struct.unpack(endian + "H", head[body + 2 : body + 4])
            if channels == 0:
                raise AudioError(
                    f"audio file {path} has no channels",
                    received="0 channels in the WAV fmt chunk",
                    expected="at least 1 channel",
                    fix="re-export the file; its header is corrupt",
                )
        if cid == b"data":
            available = size - body
            # 0 and 0xFFFFFFFF are placeholders streaming writers leave; libsndfile copes.
            if 0 < clen < 0xFFFFFFFF and clen > available:
                raise AudioError(
                    f"audio file {path} is truncated",
                    received=f"data chunk declares {clen} bytes but only {available} are present",
                    expected="a complete WAV file",
                    fix="re-download or re-export the file",
                )
            return
        pos = body + clen + (clen & 1)
    if pos + 8 > size:
        raise AudioError(
            f"audio file {path} is truncated",
            received=f"WAV header of {size} bytes ends before a data chunk",
            expected="a complete WAV file with fmt and data chunks",
            fix="re-download or re-export the file",
        )


def _open_info(path, max_seconds):
    """Check a file from its header alone; decoding happens only once this passes."""
    path = Path(path)
    if not path.exists():
        raise AudioError(
            "audio file not found",
            received=str(path),
            expected=f"an existing audio file ({_SUPPORTED})",
            fix="check the path (relative paths are resolved from the current directory)",
        )
    if not path.is_file():
        raise AudioError(
            "audio path is not a file",
            received=str(path),
            expected="a regular audio file",
            fix="pass the path of a file, not a folder",
        )
    _riff_check(path)
    sf = _sf()
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        with open(path, "rb") as f:
            magic = f.read(12)
        raise AudioError(
            f"cannot read audio file {path}",
            received=f"{path.stat().st_size} bytes starting with {magic!r} ({exc})",
            expected=f"a complete audio file in a supported format: {_SUPPORTED}",
            fix="check that the file is audio and complete; convert it with `sox in.ext out.wav`",
        ) from None
    if info.channels <= 0:
        raise AudioError(
            f"audio file {path} has no channels",
            received=f"{info.channels} channels",
            expected="at least 1 channel",
            fix="re-export the file; its header is corrupt",
        )
    _check_sample_rate(info.samplerate, f"sample rate of {path}")
    if info.frames <= 0:
        raise AudioError(
            f"audio file {path} is empty",
            received="0 samples",
            expected="at least 1 sample",
            fix="record or export the audio again",
        )
    duration = info.frames / info.samplerate
    if max_seconds is not None and duration > max_seconds:
        raise AudioError(
            f"audio file {path} is too long",
            received=f"{duration:.1f} s ({info.frames} samples at {info.samplerate} Hz)",
            expected=f"at most {max_seconds:g} s",
            fix="cut it into shorter files (e.g. `sox in.wav out.wav trim 0 60 : newfile : restart`)"
            " or raise max_seconds",
        )
    return path, info


def _decode(path: Path, info, mono: bool, sample_rate, name: str, clip: bool = True):
    sf = _sf()
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"cannot decode audio file {path}",
            received=f"{info.format} / {info.subtype} ({exc})",
            expected="a decodable audio stream",
            fix="re-export or convert the file with `sox in.ext out.wav`",
        ) from None
    waveform = np.ascontiguousarray(data.T)  # soundfile is [T, C]; the zoo is channels first
    if waveform.shape[-1] == 0:
        raise AudioError(
            f"audio file {path} is empty",
            received="0 decodable samples",
            expected="at least 1 sample",
            fix="record or export the audio again",
        )
    bad = ~np.isfinite(waveform)
    if bad.any():
        first = int(np.argmax(bad.any(axis=0)))
        raise AudioError(
            f"audio file {path} contains non-finite samples",
            received=f"{int(bad.sum())} NaN/Inf samples (first at sample {first})",
            expected="finite float samples",
            fix="regenerate the file; the program that wrote it produced NaN or Inf",
        )
    over = int(np.count_nonzero(np.abs(waveform) > 1.0)) if clip else 0
    if over:
        warnings.warn(f"{name}: clipped {over} samples of {path} that exceeded [-1, 1]", stacklevel=3)
        np.clip(waveform, -1.0, 1.0, out=waveform)
    if mono:
        waveform = to_mono(waveform)
    if sample_rate is not None and sample_rate != sr:
        waveform = resample(waveform, sr, sample_rate)
        sr = sample_rate
    return waveform.astype(np.float32, copy=False), int(sr)


def read_audio(path, *, sample_rate=None, mono=True, max_seconds=600.0, clip=True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 in [-1, 1]: shape [T] if `mono` else [channels, T].

    The duration is checked from the header before decoding, so overlong files are refused
    without being read. `sample_rate` resamples (soxr); None keeps the file's rate. Float
    files and lossy decoders can exceed full scale: those samples are clipped with a warning,
    or with `clip=False` kept for a caller that rescales (e.g. peak-normalises) the clip.
    """
    if sample_rate is not None:
        sample_rate = _check_sample_rate(sample_rate, "target sample_rate", ConfigError)
    path, info = _open_info(path, max_seconds)
    return _decode(path, info, mono, sample_rate, "read_audio", clip)


def read_wav_pcm16(path, *, mono=True, max_seconds=600.0) -> tuple[np.ndarray, int]:
    """Strict reader for contracts that accept only 16-bit PCM WAV (what tf.audio.decode_wav reads).

    Returns float32 samples / 32768 (the scaling decode_wav uses) and the file's sample rate.
    """
    path, info = _open_info(path, max_seconds)
    if info.format not in ("WAV", "WAVEX") or info.subtype != "PCM_16":
        encoding = "" if info.subtype == "PCM_16" else " -e signed-integer"
        raise AudioError(
            f"{path} is not a 16-bit PCM WAV file",
            received=f"format {info.format}, subtype {info.subtype} ({info.subtype_info})",
            expected="format WAV, subtype PCM_16",
            fix=f"convert it: `sox {path.name} -b 16{encoding} out.wav`",
        )
    return _decode(path, info, mono, None, "read_wav_pcm16")


_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".oga": "OGG", ".mp3": "MP3"}


def write_audio(path, waveform, sample_rate, subtype="PCM_16") -> int:
    """Write `waveform` ([T] or [channels, T]) atomically; return how many samples were clipped.

    The file appears complete or not at all (temp file in the same folder, then os.replace).
    Samples outside [-1, 1] are clipped with a warning that counts them; NaN/Inf are refused.
    The container comes from the suffix (.wav .flac .ogg .oga .mp3); lossy containers use their
    own codec when `subtype` is left at PCM_16.
    """
    sf = _sf()
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            "unsupported output audio format",
            received=f"suffix {path.suffix!r} of {path}",
            expected=f"one of {sorted(_FORMATS)}",
            fix="name the file with one of these suffixes",
        )
    sample_rate = _check_sample_rate(sample_rate, "sample_rate", ConfigError)
    x = validate_waveform(waveform, sample_rate=sample_rate, max_seconds=None, name="waveform to write",
                          check_peak=False)
    if subtype == "PCM_16" and fmt in ("OGG", "MP3"):
        subtype = sf.default_subtype(fmt)
    if not sf.check_format(fmt, subtype):
        raise ConfigError(
            f"subtype {subtype!r} cannot be written as {fmt}",
            received=subtype,
            expected=f"one of {sorted(sf.available_subtypes(fmt))}",
            fix="pick a subtype from the expected list",
        )
    clipped = int(np.count_nonzero(np.abs(x) > 1.0))
    if clipped:
        warnings.warn(f"write_audio: clipped {clipped} of {x.size} samples to [-1, 1] in {path}",
                      stacklevel=2)
        x = np.clip(x, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        sf.write(tmp, x.T if x.ndim == 2 else x, sample_rate, subtype=subtype, format=fmt)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return clipped


def resample(waveform, orig_sr, target_sr) -> np.ndarray:
    """Band-limited resampling along the last axis (librosa with soxr_hq); returns float32."""
    orig_sr = _check_sample_rate(orig_sr, "orig_sr", ConfigError)
    target_sr = _check_sample_rate(target_sr, "target_sr", ConfigError)
    x = np.asarray(waveform, dtype=np.float32)
    if orig_sr == target_sr:
        return x.copy()
    import librosa

    return librosa.resample(x, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq",
                            axis=-1).astype(np.float32, copy=False)


def _check_layout(x: np.ndarray, name: str) -> None:
    if x.ndim not in (1, 2):
        raise AudioError(
            f"{name} has the wrong rank",
            received=f"shape {x.shape}",
            expected="[time] or [channels, time]",
            fix="squeeze batch axes or index one example",
        )
    if x.ndim == 2 and x.shape[0] > _MAX_CHANNELS and x.shape[0] > x.shape[1]:
        raise AudioError(
            f"{name} looks time-first",
            received=f"shape {x.shape}",
            expected=f"[channels, time] with at most {_MAX_CHANNELS} channels",
            fix="transpose it (x.T); soundfile returns [time, channels]",
        )


def to_mono(waveform) -> np.ndarray:
    """Average the channels of a channels-first [C, T] waveform; [T] passes through."""
    x = np.asarray(waveform)
    _check_layout(x, "waveform")
    if x.ndim == 1:
        return x.astype(np.float32, copy=False)
    return x.mean(axis=0, dtype=np.float64).astype(np.float32)


def crop_or_pad(waveform, length, *, offset=0, rng=None) -> np.ndarray:
    """Window of `length` samples along the last axis; zeros where the window leaves the signal.

    `offset` is where the window starts in the input: an int (negative pads in front),
    "center", or "random" (uniform over all starts that keep the shorter of the two inside
    the longer; needs `rng`, a numpy Generator).
    """
    x = np.asarray(waveform)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
        raise ConfigError("length must be a non-negative int", received=repr(length),
                          expected="int >= 0", fix="pass a sample count, e.g. 16000")
    total = x.shape[-1]
    if isinstance(offset, str):
        if offset == "center":
            start = (total - length) // 2
        elif offset == "random":
            if not isinstance(rng, np.random.Generator):
                raise ConfigError("offset='random' needs an explicit rng",
                                  received=repr(rng), expected="numpy.random.Generator",
                                  fix="pass rng=np.random.default_rng(seed)")
            lo, hi = min(0, total - length), max(0, total - length)
            start = int(rng.integers(lo, hi + 1))
        else:
            raise ConfigError("unknown offset mode", received=repr(offset),
                              expected="an int, 'center' or 'random'", fix="use one of the expected values")
    elif isinstance(offset, (int, np.integer)) and not isinstance(offset, bool):
        start = int(offset)
    else:
        raise ConfigError("offset must be an int, 'center' or 'random'", received=repr(offset),
                          expected="int | 'center' | 'random'", fix="use one of the expected values")
    out = np.zeros(x.shape[:-1] + (int(length),), dtype=x.dtype)
    src_lo, src_hi = max(start, 0), min(start + length, total)
    if src_hi > src_lo:
        out[..., src_lo - start : src_hi - start] = x[..., src_lo:src_hi]
    return out


def validate_waveform(waveform, *, sample_rate, max_seconds=600.0, name="waveform",
                      check_peak=True) -> np.ndarray:
    """Check a waveform against the canonical layout and return it as float32.

    Refuses: non-float dtypes, rank other than 1 or 2 ([C, T]), empty, NaN/Inf, longer than
    `max_seconds` (None: no limit), and (with `check_peak`) peaks over 2.0, which mean
    integer-scaled PCM rather than [-1, 1] audio.
    """
    sample_rate = _check_sample_rate(sample_rate, "sample_rate", ConfigError)
    x = np.asarray(waveform)
    if not np.issubdtype(x.dtype, np.floating):
        fix = "x.astype(np.float32) / 32768" if np.issubdtype(x.dtype, np.integer) else "x.astype(np.float32)"
        raise AudioError(f"{name} has the wrong dtype", received=f"dtype {x.dtype}",
                         expected="a float dtype (float32) in [-1, 1]", fix=f"convert it: {fix}")
    _check_layout(x, name)
    if x.size == 0:
        raise AudioError(f"{name} is empty", received=f"shape {x.shape}",
                         expected="at least 1 sample", fix="pass a non-empty waveform")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        raise AudioError(f"{name} contains non-finite values",
                         received=f"{int(bad.sum())} NaN/Inf of {x.size} samples",
                         expected="finite samples", fix="find where the NaN/Inf came from (e.g. 0/0, log(0))")
    duration = x.shape[-1] / sample_rate
    if max_seconds is not None and duration > max_seconds:
        raise AudioError(f"{name} is too long", received=f"{duration:.1f} s at {sample_rate} Hz",
                         expected=f"at most {max_seconds:g} s", fix="split it into shorter pieces")
    if check_peak:
        peak = float(np.max(np.abs(x)))
        if peak > _UNNORMALISED_PEAK:
            raise AudioError(f"{name} is not in [-1, 1]", received=f"peak {peak:g}",
                             expected="float samples in [-1, 1]",
                             fix="scale integer PCM by 1/32768 (16-bit) or normalise by the peak")
    return x


def rms_db(x) -> float:
    """RMS level in dB relative to full scale 1.0 (a full-scale sine is -3.01 dB); silence -200 dB."""
    x = np.asarray(x, dtype=np.float64)
    return float(10.0 * np.log10(np.mean(x * x) + 1e-20)) if x.size else -200.0


def mix_at_snr(signal, noise, snr_db) -> np.ndarray:
    """signal + noise scaled so that rms_db(signal) - rms_db(scaled noise) == snr_db."""
    s = np.asarray(signal, dtype=np.float32)
    n = np.asarray(noise, dtype=np.float32)
    if s.shape != n.shape:
        raise AudioError("signal and noise shapes differ", received=f"{s.shape} vs {n.shape}",
                         expected="equal shapes", fix="crop or pad the noise first (crop_or_pad)")
    if not np.isfinite(snr_db):
        raise ConfigError("snr_db must be finite", received=repr(snr_db), expected="a float in dB",
                          fix="pass e.g. 10.0")
    s_db, n_db = rms_db(s), rms_db(n)
    if s_db <= -199.0 or n_db <= -199.0:
        which = "signal" if s_db <= -199.0 else "noise"
        raise AudioError(f"cannot set an SNR against a silent {which}", received=f"{which} at {min(s_db, n_db):.0f} dB",
                         expected="a signal and noise with energy", fix="skip mixing for silent clips")
    gain = 10.0 ** ((s_db - snr_db - n_db) / 20.0)
    return (s + np.float32(gain) * n).astype(np.float32)
