"""Waveform and feature augmentation in pure TensorFlow, keyed by per-example stateless seeds.

Every random draw is a `tf.random.stateless_*` op whose seed is folded from the example's seed
and a fixed per-augmentation index, so an example is augmented identically whatever the tf.data
parallelism, and switching one augmentation off does not change the draws of the others.

Order (each step optional by its config): speed perturbation -> pitch shift -> time shift ->
reverberation -> additive noise at a random SNR -> gain -> clip to [-1, 1].
SpecAugment runs later, on batched features (`spec_augment_draws` per example, `apply_spec_augment`
per batch), so the frontend can run on whole batches.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError, DataError

# Sub-seed indices: fixed, so the draws of one augmentation never depend on the others.
_SPEED, _PITCH, _SHIFT, _REVERB, _NOISE, _GAIN, _SPEC = range(7)


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings for keyword spotting; a degenerate range (a, a) makes a draw constant.

    Pitch shift is a phase-vocoder time stretch followed by resampling (duration kept, formants
    shifted with the pitch); it costs one STFT/iSTFT pair per shifted clip. Speed perturbation
    instead changes pitch and tempo together. `pitch_shift_prob=0` turns pitch shift off.
    """

    noise_prob: float = 0.8
    snr_db: tuple[float, float] = (0.0, 25.0)
    # Probability that added noise is synthetic colored noise instead of a noise-bank segment
    # (always colored when the bank is empty). Spectrum ~ 1/f**exponent: 0 white, 1 pink, 2 brown.
    colored_noise_prob: float = 0.2
    colored_noise_exponent: tuple[float, float] = (-1.0, 2.0)
    # Clips quieter than this (e.g. digital silence) have no SNR: noise gets an absolute level instead.
    quiet_threshold_dbfs: float = -60.0
    quiet_noise_dbfs: tuple[float, float] = (-50.0, -20.0)
    gain_db: tuple[float, float] = (-10.0, 6.0)
    time_shift_s: float = 0.1
    speed_range: tuple[float, float] = (0.9, 1.1)
    pitch_shift_prob: float = 0.3
    pitch_shift_semitones: tuple[float, float] = (-2.0, 2.0)
    reverb_prob: float = 0.3
    rir_max_s: float = 1.0
    freq_mask_param: int = 7
    time_mask_param: int = 10
    num_freq_masks: int = 2
    num_time_masks: int = 2

    def __post_init__(self):
        for name in ("noise_prob", "colored_noise_prob", "pitch_shift_prob", "reverb_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"AugmentConfig.{name} must be a probability", received=repr(value),
                                  expected="a float in [0, 1]")
        for name in ("snr_db", "colored_noise_exponent", "quiet_noise_dbfs", "gain_db", "speed_range",
                     "pitch_shift_semitones"):
            value = getattr(self, name)
            if (not isinstance(value, (tuple, list)) or len(value) != 2
                    or not all(isinstance(v, (int, float)) for v in value) or value[0] > value[1]):
                raise ConfigError(f"AugmentConfig.{name} must be a (low, high) pair with low <= high",
                                  received=repr(value), expected="e.g. (0.0, 25.0)")
        if self.speed_range[0] <= 0:
            raise ConfigError("AugmentConfig.speed_range must be positive", received=self.speed_range,
                              expected="e.g. (0.9, 1.1)")
        for name in ("time_shift_s", "rir_max_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"AugmentConfig.{name} must be >= 0 seconds", received=repr(value),
                                  expected="a float >= 0")
        for name in ("freq_mask_param", "time_mask_param", "num_freq_masks", "num_time_masks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"AugmentConfig.{name} must be an int >= 0", received=repr(value),
                                  expected="e.g. 2")

    @classmethod
    def off(cls, **overrides) -> "AugmentConfig":
        """A config that changes nothing; pass fields to switch single augmentations on."""
        fields = dict(noise_prob=0.0, gain_db=(0.0, 0.0), time_shift_s=0.0, speed_range=(1.0, 1.0),
                      pitch_shift_prob=0.0, reverb_prob=0.0, num_freq_masks=0, num_time_masks=0)
        fields.update(overrides)
        return cls(**fields)


def _sub_seed(seed, index: int):
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), index)


def _uniform(seed, low: float, high: float, shape=()):
    return tf.random.stateless_uniform(shape, seed, minval=float(low), maxval=float(high))


def _interp(x, pos):
    """Linear interpolation of 1-D `x` at float positions `pos` (zero outside the signal)."""
    n = tf.shape(x)[0]
    last = tf.cast(n - 1, tf.float32)
    i0 = tf.floor(pos)
    frac = pos - i0
    i0 = tf.cast(i0, tf.int32)
    a = tf.gather(x, tf.clip_by_value(i0, 0, n - 1))
    b = tf.gather(x, tf.clip_by_value(i0 + 1, 0, n - 1))
    valid = (pos >= 0.0) & (pos <= last)
    return tf.where(valid, a + frac * (b - a), 0.0)


def _power(x):
    return tf.reduce_mean(tf.square(x))


class Augmenter:
    """Applies an `AugmentConfig` to single waveforms [T] with a per-example seed [2].

    noise_bank: 1-D float arrays (any lengths; shorter than a clip are looped).
    rir_bank: 1-D room impulse responses; each is trimmed to start at its peak (the direct path),
    scaled so the direct path is +1 and cut to `config.rir_max_s`.
    """

    def __init__(self, config: AugmentConfig, noise_bank: list, rir_bank: list, sample_rate: int):
        if not isinstance(config, AugmentConfig):
            raise ConfigError("config must be an AugmentConfig", received=type(config).__name__,
                              expected="training.augment.AugmentConfig")
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ConfigError("sample_rate must be a positive int (Hz)", received=repr(sample_rate),
                              expected="e.g. 16000")
        self.config = config
        self.sample_rate = int(sample_rate)
        self.noise_bank = [self._check_1d(n, "noise_bank", i) for i, n in enumerate(noise_bank or [])]
        self.rir_bank = [self._check_1d(h, "rir_bank", i) for i, h in enumerate(rir_bank or [])]
        if config.reverb_prob > 0 and not self.rir_bank:
            raise DataError("reverb_prob > 0 but the RIR bank is empty", received="rir_bank=[]",
                            expected="a list of 1-D impulse responses",
                            fix="pass training.corpora.rooms.make_rir_bank(...) or set reverb_prob=0")
        # Noise bank as one flat tensor plus offsets: no padding waste for long recordings.
        if self.noise_bank:
            self._noise_flat = tf.constant(np.concatenate(self.noise_bank), tf.float32)
            lengths = np.array([len(n) for n in self.noise_bank], np.int64)
            self._noise_start = tf.constant(np.concatenate([[0], np.cumsum(lengths)[:-1]]), tf.int32)
            self._noise_len = tf.constant(lengths, tf.int32)
        if self.rir_bank:
            max_len = max(1, int(round(config.rir_max_s * self.sample_rate)))
            rirs = []
            for h in self.rir_bank:
                h = h[int(np.argmax(np.abs(h))):][:max_len]
                rirs.append(h / h[0])
            self._rir_len = max(len(h) for h in rirs)
            self._rirs = tf.constant(
                np.stack([np.pad(h, (0, self._rir_len - len(h))) for h in rirs]), tf.float32)

    @staticmethod
    def _check_1d(array, name, index):
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)) or not np.any(array):
            raise DataError(f"{name}[{index}] is not a usable 1-D signal",
                            received=f"shape {array.shape}", expected="a non-empty, finite, non-zero 1-D array",
                            fix=f"drop that entry from {name}")
        return array

    # ---- waveform augmentations (each usable alone; `seed` is a [2] int tensor) ----

    def speed(self, x, seed):
        """Resample by a factor r (pitch and tempo x r), centred, cropped/padded to len(x)."""
        lo, hi = self.config.speed_range
        r = _uniform(seed, lo, hi)
        n = tf.cast(tf.shape(x)[0], tf.float32)
        c = (n - 1.0) / 2.0
        return _interp(x, c + (tf.range(n) - c) * r)

    def pitch_shift(self, x, seed):
        """Shift pitch by a drawn number of semitones keeping the duration.

        Phase-vocoder time stretch by the pitch ratio, then linear resampling back to len(x)
        (the composition librosa.effects.pitch_shift uses); 32 ms frames, 8 ms hop at 16 kHz.
        """
        lo, hi = self.config.pitch_shift_semitones
        ratio = tf.pow(2.0, _uniform(seed, lo, hi) / 12.0)
        n_fft = 1 << max(4, int(round(math.log2(0.032 * self.sample_rate))))
        hop = n_fft // 4
        n = tf.shape(x)[0]
        padded = tf.pad(x, [[n_fft // 2, n_fft // 2 + hop]])
        spec = tf.signal.stft(padded, n_fft, hop, n_fft, window_fn=tf.signal.hann_window)
        frames = tf.shape(spec)[0]
        # Output frame t reads input frame position t / ratio: the signal gets `ratio` times longer.
        steps = tf.range(0.0, tf.cast(frames - 1, tf.float32), 1.0 / ratio)
        i0 = tf.cast(tf.floor(steps), tf.int32)
        alpha = (steps - tf.floor(steps))[:, None]
        s0, s1 = tf.gather(spec, i0), tf.gather(spec, i0 + 1)
        mag = (1.0 - alpha) * tf.abs(s0) + alpha * tf.abs(s1)
        omega = 2.0 * math.pi * hop * tf.range(n_fft // 2 + 1, dtype=tf.float32) / n_fft
        dphi = tf.math.angle(s1) - tf.math.angle(s0) - omega
        dphi = dphi - 2.0 * math.pi * tf.round(dphi / (2.0 * math.pi)) + omega
        phase = tf.math.angle(spec[0])[None, :] + tf.cumsum(dphi, axis=0, exclusive=True)
        stretched = tf.signal.inverse_stft(
            tf.complex(mag * tf.cos(phase), mag * tf.sin(phase)), n_fft, hop, n_fft,
            window_fn=tf.signal.inverse_stft_window_fn(hop, forward_window_fn=tf.signal.hann_window))
        stretched = stretched[n_fft // 2:]
        return _interp(stretched, tf.range(tf.cast(n, tf.float32)) * ratio)

    def time_shift(self, x, seed):
        """Delay (positive) or advance by up to time_shift_s, zero-filled."""
        s = int(round(self.config.time_shift_s * self.sample_rate))
        if s == 0:
            return x
        shift = tf.random.stateless_uniform((), seed, minval=-s, maxval=s + 1, dtype=tf.int32)
        n = tf.shape(x)[0]
        return tf.pad(x, [[s, s]])[s - shift: s - shift + n]

    def reverb(self, x, seed):
        """Convolve with a random RIR of the bank (FFT); output aligned to the direct path."""
        idx = tf.random.stateless_uniform((), seed, minval=0, maxval=len(self.rir_bank), dtype=tf.int32)
        h = tf.gather(self._rirs, idx)
        n = tf.shape(x)[0]
        n_fft = tf.cast(2 ** tf.math.ceil(tf.math.log(tf.cast(n + self._rir_len - 1, tf.float32))
                                          / math.log(2.0)), tf.int32)
        y = tf.signal.irfft(tf.signal.rfft(x, [n_fft]) * tf.signal.rfft(h, [n_fft]), [n_fft])
        return y[:n]

    def _bank_noise(self, seed, n):
        s_idx, s_off = _sub_seed(seed, 0), _sub_seed(seed, 1)
        idx = tf.random.stateless_uniform((), s_idx, minval=0, maxval=len(self.noise_bank), dtype=tf.int32)
        length = tf.gather(self._noise_len, idx)
        span = tf.maximum(length - n + 1, 1)
        offset = tf.cast(tf.floor(_uniform(s_off, 0.0, 1.0) * tf.cast(span, tf.float32)), tf.int32)
        # Modulo loops noise shorter than the clip.
        positions = tf.math.floormod(offset + tf.range(n), length)
        return tf.gather(self._noise_flat, tf.gather(self._noise_start, idx) + positions)

    def colored_noise(self, seed, n):
        """Gaussian noise with power spectrum ~ 1/f**exponent, exponent drawn from the config range."""
        lo, hi = self.config.colored_noise_exponent
        exponent = _uniform(_sub_seed(seed, 0), lo, hi)
        white = tf.random.stateless_normal([n], _sub_seed(seed, 1))
        freqs = tf.maximum(tf.range(n // 2 + 1, dtype=tf.float32), 1.0)
        shaped = tf.signal.rfft(white, [n]) * tf.cast(tf.pow(freqs, -exponent / 2.0), tf.complex64)
        return tf.signal.irfft(shaped, [n])

    def add_noise(self, x, seed):
        """Add bank or colored noise at a drawn SNR (or a drawn absolute level for quiet clips)."""
        cfg = self.config
        n = tf.shape(x)[0]
        s_kind, s_bank, s_col, s_snr, s_quiet = (_sub_seed(seed, i) for i in range(5))
        if self.noise_bank and cfg.colored_noise_prob < 1.0:
            use_colored = _uniform(s_kind, 0.0, 1.0) < cfg.colored_noise_prob
            noise = tf.cond(use_colored, lambda: self.colored_noise(s_col, n), lambda: self._bank_noise(s_bank, n))
        else:
            noise = self.colored_noise(s_col, n)
        p_signal = _power(x)
        snr_db = _uniform(s_snr, *cfg.snr_db)
        quiet_db = _uniform(s_quiet, *cfg.quiet_noise_dbfs)
        is_quiet = p_signal < 10.0 ** (cfg.quiet_threshold_dbfs / 10.0)
        target = tf.where(is_quiet, tf.pow(10.0, quiet_db / 10.0), p_signal / tf.pow(10.0, snr_db / 10.0))
        return x + noise * tf.sqrt(target / (_power(noise) + 1e-20))

    def gain(self, x, seed):
        lo, hi = self.config.gain_db
        return x * tf.pow(10.0, _uniform(seed, lo, hi) / 20.0)

    def __call__(self, waveform, seed):
        """Augmented copy of `waveform` [T] float32; `seed` is an int [2] tensor (per example)."""
        cfg = self.config
        x = tf.convert_to_tensor(waveform, tf.float32)
        seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
        if cfg.speed_range != (1.0, 1.0):
            x = self.speed(x, _sub_seed(seed, _SPEED))
        if cfg.pitch_shift_prob > 0:
            x = self._maybe(x, seed, _PITCH, cfg.pitch_shift_prob, self.pitch_shift)
        x = self.time_shift(x, _sub_seed(seed, _SHIFT))
        if cfg.reverb_prob > 0:
            x = self._maybe(x, seed, _REVERB, cfg.reverb_prob, self.reverb)
        if cfg.noise_prob > 0:
            x = self._maybe(x, seed, _NOISE, cfg.noise_prob, self.add_noise)
        if cfg.gain_db != (0.0, 0.0):
            x = self.gain(x, _sub_seed(seed, _GAIN))
        # Saturate like a 16-bit recording would.
        return tf.clip_by_value(x, -1.0, 1.0)

    @staticmethod
    def _maybe(x, seed, index, prob, fn):
        s = _sub_seed(seed, index)
        if prob >= 1.0:
            return fn(x, _sub_seed(s, 1))
        apply = _uniform(_sub_seed(s, 0), 0.0, 1.0) < prob
        return tf.cond(apply, lambda: fn(x, _sub_seed(s, 1)), lambda: tf.identity(x))

    # ---- SpecAugment on features ----

    @property
    def num_spec_draws(self) -> int:
        return 2 * (self.config.num_freq_masks + self.config.num_time_masks)

    def spec_augment_draws(self, seed):
        """Per-example uniforms in [0, 1) that fix the masks; batch them and pass to apply_spec_augment."""
        return tf.random.stateless_uniform([self.num_spec_draws], _sub_seed(tf.cast(seed, tf.int64), _SPEC))

    def apply_spec_augment(self, features, draws):
        """Mask frequency and time bands of features [B, frames, bins] (or [frames, bins]).

        Masked cells take the example's mean feature value (log-mel features are not zero-mean).
        Widths are uniform in [0, mask_param], starts uniform over the valid positions.
        """
        cfg = self.config
        features = tf.convert_to_tensor(features, tf.float32)
        single = features.shape.rank == 2
        if single:
            features, draws = features[None], draws[None]
        if self.num_spec_draws == 0:
            return features[0] if single else features
        frames, bins = tf.shape(features)[1], tf.shape(features)[2]

        def band_mask(u_width, u_start, param, size):
            size_f = tf.cast(size, tf.float32)
            width = tf.minimum(tf.floor(u_width * (param + 1)), size_f)
            start = tf.floor(u_start * (size_f - width + 1.0))
            pos = tf.range(size_f)[None, :]
            return (pos >= start[:, None]) & (pos < (start + width)[:, None])

        mask = tf.zeros_like(features, tf.bool)
        col = 0
        for _ in range(cfg.num_freq_masks):
            m = band_mask(draws[:, col], draws[:, col + 1], cfg.freq_mask_param, bins)
            mask |= m[:, None, :]
            col += 2
        for _ in range(cfg.num_time_masks):
            m = band_mask(draws[:, col], draws[:, col + 1], cfg.time_mask_param, frames)
            mask |= m[:, :, None]
            col += 2
        fill = tf.reduce_mean(features, axis=[1, 2], keepdims=True)
        out = tf.where(mask, fill, features)
        return out[0] if single else out

    def __repr__(self):
        return (f"Augmenter({dataclasses.asdict(self.config)}, noise_bank={len(self.noise_bank)} clips, "
                f"rir_bank={len(self.rir_bank)} RIRs, sample_rate={self.sample_rate})")
