"""Waveform and feature augmentation in pure TensorFlow, keyed by per-example stateless seeds.

Each example draws one vector of uniforms from its own seed with `tf.random.stateless_uniform`
(`Augmenter.draw`); every slot of that vector has a fixed meaning, so an example is augmented
identically whatever the tf.data parallelism or batch composition, and switching one augmentation
off does not change the draws of the others. The heavy work (`Augmenter.apply`) then runs on whole
batches [B, T] (about 10x faster than per-example maps on CPU); `Augmenter.__call__(waveform,
seed)` does both for a single clip.

Order: pitch shift -> speed perturbation and time shift (one resampling) -> reverberation ->
additive noise at a random SNR -> gain -> clip to [-1, 1]. SpecAugment runs on batched features
(`spec_augment_draws` per example, `apply_spec_augment` per batch) after the frontend.

Sequence recognisers (variable-length utterances) perturb their batched features instead:
`perturb_features` applies a VTLP frequency warp and a tempo change, returning the new frame counts;
`spectral_eq` filters each row by a smooth EQ; the caller draws their factors.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError, DataError

# Slots of the per-example uniform vector (fixed: see the module docstring).
(_SPEED, _PITCH_ON, _PITCH, _SHIFT, _REVERB_ON, _RIR, _NOISE_ON, _COLORED_ON, _BANK, _BANK_OFFSET,
 _EXPONENT, _WHITE_OFFSET, _SNR, _QUIET, _GAIN) = range(15)
NUM_DRAWS = 15
# Colored noise shapes segments of a fixed white-noise reservoir (batched, no per-example RNG).
_RESERVOIR_SECONDS = 16.0


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings for keyword spotting; a degenerate range (a, a) makes a draw constant.

    Pitch shift is a phase-vocoder time stretch followed by resampling (duration kept, formants
    shifted with the pitch); it costs one STFT/iSTFT pair per shifted clip. Speed perturbation
    instead changes pitch and tempo together. Pitch shift is off by default (pitch_shift_prob=0):
    on 2 CPU cores it alone runs at ~350 clips/s when applied to every clip, while the default
    chain with the frontend must stay above ~1500 clips/s; raise it when CPU allows.
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
    # Off by default: ~3 ms of CPU per shifted clip (phase vocoder), the pipeline's largest cost.
    pitch_shift_prob: float = 0.0
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


def _range(u, pair):
    lo, hi = (float(v) for v in pair)
    return lo + u * (hi - lo)


def _interp_rows(x, pos):
    """Row-wise linear interpolation of x [B, N] at float positions pos [B, M].

    Zero beyond one sample outside [0, N-1] (a one-sample linear ramp to zero at the edges).
    Zero padding replaces masks, and flat gathers beat batch_dims gathers and pair stacking: hot path.
    """
    n = tf.shape(x)[1]
    width = n + 3
    flat = tf.reshape(tf.pad(x, [[0, 0], [1, 2]]), [-1])  # row b, sample k at b * width + k + 1
    p = tf.clip_by_value(pos + 1.0, 0.0, tf.cast(n + 1, tf.float32))
    i = tf.floor(p)
    index = tf.cast(i, tf.int32) + (tf.range(tf.shape(x)[0]) * width)[:, None]
    a = tf.gather(flat, index)
    b = tf.gather(flat, index + 1)
    return a + (p - i) * (b - a)


def _on_rows(x, selected, fn, *args):
    """fn applied to the rows of x [B, T] where `selected` [B] is true; other rows unchanged."""
    idx = tf.where(selected)[:, 0]

    def run():
        out = fn(tf.gather(x, idx), *(tf.gather(a, idx) for a in args))
        return tf.tensor_scatter_nd_update(x, idx[:, None], out)

    return tf.cond(tf.size(idx) > 0, run, lambda: tf.identity(x))


def _fft_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast FFT sizes; a power of two may be up to 2x larger)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            size = p35
            while size < n:
                size *= 2
            best = min(best, size)
            p35 *= 3
        p5 *= 5
    return best


def _power(x):
    return tf.reduce_mean(tf.square(x), axis=-1)


class Augmenter:
    """Applies an `AugmentConfig`; per-example seeds, batched work.

    noise_bank: 1-D float arrays (any lengths; those shorter than a clip are looped).
    rir_bank: 1-D room impulse responses; each is trimmed to start at its peak (the direct path),
    scaled so the direct path is +1 (the dry level is kept) and cut to `config.rir_max_s`.
    """

    def __init__(self, config: AugmentConfig, noise_bank: list, rir_bank: list, sample_rate: int):
        if not isinstance(config, AugmentConfig):
            raise ConfigError("config must be an AugmentConfig", received=type(config).__name__,
                              expected="training.augment.AugmentConfig")
        if not isinstance(sample_rate, (int, np.integer)) or isinstance(sample_rate, bool) or sample_rate <= 0:
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
            lengths = np.array([len(n) for n in self.noise_bank], np.int64)
            self._noise_flat = tf.constant(np.concatenate(self.noise_bank), tf.float32)
            self._noise_start = tf.constant(np.concatenate([[0], np.cumsum(lengths)[:-1]]), tf.int32)
            self._noise_len = tf.constant(lengths, tf.int32)
        self._reservoir = None
        if config.noise_prob > 0 and (config.colored_noise_prob > 0 or not self.noise_bank):
            white = np.random.default_rng(0).standard_normal(int(_RESERVOIR_SECONDS * self.sample_rate))
            self._reservoir = tf.constant(white, tf.float32)
        self._rir_np = None
        self._rir_spectra = {}
        if self.rir_bank:
            max_len = max(1, int(round(config.rir_max_s * self.sample_rate)))
            rirs = []
            for h in self.rir_bank:
                h = h[int(np.argmax(np.abs(h))):][:max_len]
                rirs.append(h / h[0])
            self._rir_len = max(len(h) for h in rirs)
            self._rir_np = np.stack([np.pad(h, (0, self._rir_len - len(h))) for h in rirs]).astype(np.float32)

    @staticmethod
    def _check_1d(array, name, index):
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)) or not np.any(array):
            raise DataError(f"{name}[{index}] is not a usable 1-D signal",
                            received=f"shape {array.shape}", expected="a non-empty, finite, non-zero 1-D array",
                            fix=f"drop that entry from {name}")
        return array

    # ---- draws ----

    def draw(self, seed):
        """Uniforms [NUM_DRAWS] in [0, 1) for one example; `seed` is an int [2] tensor."""
        seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 0)
        return tf.random.stateless_uniform([NUM_DRAWS], seed)

    def params(self, draws) -> dict:
        """The augmentation parameters that draws [B, NUM_DRAWS] stand for (tensors [B])."""
        cfg = self.config
        u = tf.convert_to_tensor(draws, tf.float32)
        shift_max = int(round(cfg.time_shift_s * self.sample_rate))
        return {
            "speed": _range(u[:, _SPEED], cfg.speed_range),
            "pitch_on": u[:, _PITCH_ON] < cfg.pitch_shift_prob,
            "pitch_semitones": _range(u[:, _PITCH], cfg.pitch_shift_semitones),
            "shift_samples": tf.floor(u[:, _SHIFT] * (2 * shift_max + 1)) - shift_max,
            "reverb_on": u[:, _REVERB_ON] < cfg.reverb_prob,
            "rir_index": tf.minimum(tf.cast(u[:, _RIR] * len(self.rir_bank), tf.int32),
                                    max(len(self.rir_bank) - 1, 0)),
            "noise_on": u[:, _NOISE_ON] < cfg.noise_prob,
            "colored": (u[:, _COLORED_ON] < cfg.colored_noise_prob) | (not self.noise_bank),
            "noise_index": tf.minimum(tf.cast(u[:, _BANK] * len(self.noise_bank), tf.int32),
                                      max(len(self.noise_bank) - 1, 0)),
            "noise_offset": u[:, _BANK_OFFSET],
            "color_exponent": _range(u[:, _EXPONENT], cfg.colored_noise_exponent),
            "white_offset": u[:, _WHITE_OFFSET],
            "snr_db": _range(u[:, _SNR], cfg.snr_db),
            "quiet_noise_dbfs": _range(u[:, _QUIET], cfg.quiet_noise_dbfs),
            "gain_db": _range(u[:, _GAIN], cfg.gain_db),
        }

    # ---- batched augmentations: x [B, T] ----

    def pitch_shift(self, x, semitones):
        """Shift pitch keeping the duration: phase-vocoder time stretch by the ratio, then linear
        resampling back (the composition librosa.effects.pitch_shift uses); 32 ms frames, 8 ms hop."""
        cfg = self.config
        ratio = tf.pow(2.0, semitones / 12.0)
        ratio_max = 2.0 ** (max(abs(v) for v in cfg.pitch_shift_semitones) / 12.0)
        n_fft = 1 << max(4, int(round(math.log2(0.032 * self.sample_rate))))
        hop = n_fft // 4
        n = tf.shape(x)[1]
        spec = tf.signal.stft(tf.pad(x, [[0, 0], [n_fft // 2, n_fft // 2 + hop]]), n_fft, hop, n_fft,
                              window_fn=tf.signal.hann_window)
        frames = tf.shape(spec)[1]
        # Enough output frames to cover n * ratio_max samples of the stretched signal.
        out_frames = tf.cast(tf.math.ceil(tf.cast(n, tf.float32) * ratio_max / hop), tf.int32) + 2
        steps = tf.range(tf.cast(out_frames, tf.float32))[None, :] / ratio[:, None]
        i0 = tf.minimum(tf.cast(tf.floor(steps), tf.int32), frames - 2)
        alpha = tf.clip_by_value(steps - tf.cast(i0, tf.float32), 0.0, 1.0)[..., None]
        # Magnitude and phase once per input frame (atan2 is the expensive part), then gathered.
        mag_in, phase_in = tf.abs(spec), tf.math.angle(spec)
        m0, m1 = tf.gather(mag_in, i0, batch_dims=1), tf.gather(mag_in, i0 + 1, batch_dims=1)
        mag = m0 + alpha * (m1 - m0)
        omega = 2.0 * math.pi * hop * tf.range(n_fft // 2 + 1, dtype=tf.float32) / n_fft
        dphi = tf.gather(phase_in, i0 + 1, batch_dims=1) - tf.gather(phase_in, i0, batch_dims=1) - omega
        dphi = dphi - 2.0 * math.pi * tf.round(dphi / (2.0 * math.pi)) + omega
        phase = phase_in[:, :1] + tf.cumsum(dphi, axis=1, exclusive=True)
        stretched = tf.signal.inverse_stft(
            tf.complex(mag * tf.cos(phase), mag * tf.sin(phase)), n_fft, hop, n_fft,
            window_fn=tf.signal.inverse_stft_window_fn(hop, forward_window_fn=tf.signal.hann_window))
        positions = tf.range(tf.cast(n, tf.float32))[None, :] * ratio[:, None]
        return _interp_rows(stretched[:, n_fft // 2:], positions)

    def speed_and_shift(self, x, speed, shift):
        """Resample by `speed` about the clip centre (pitch and tempo x speed), then delay by `shift`
        samples (negative: advance), zero-filled; one interpolation for both."""
        n = tf.cast(tf.shape(x)[1], tf.float32)
        c = (n - 1.0) / 2.0
        src = tf.range(n)[None, :] - shift[:, None]
        pos = c + (src - c) * speed[:, None]
        pos = tf.where((src >= 0.0) & (src <= n - 1.0), pos, -1.0)
        return _interp_rows(x, pos)

    def reverb(self, x, rir_index):
        """Convolve each row with its RIR (FFT); output aligned to the direct path, cut to T."""
        n = x.shape[1]
        rirs = tf.constant(self._rir_np)
        if n is None:  # unknown length: transform the RIRs on the fly
            n_dyn = tf.shape(x)[1]
            n_fft = tf.cast(2 ** tf.math.ceil(tf.math.log(tf.cast(n_dyn + self._rir_len - 1, tf.float32))
                                              / math.log(2.0)), tf.int32)
            h = tf.signal.rfft(tf.gather(rirs, rir_index), [n_fft])
            return tf.signal.irfft(tf.signal.rfft(x, [n_fft]) * h, [n_fft])[:, :n_dyn]
        n_fft = _fft_size(n + self._rir_len - 1)
        if n_fft not in self._rir_spectra:
            self._rir_spectra[n_fft] = np.fft.rfft(self._rir_np, n_fft).astype(np.complex64)
        h = tf.gather(tf.constant(self._rir_spectra[n_fft]), rir_index)
        return tf.signal.irfft(tf.signal.rfft(x, [n_fft]) * h, [n_fft])[:, :n]

    def bank_noise(self, n, index, offset_u):
        """Noise-bank segments [B, n]: clip `index`, start uniform over the valid offsets."""
        length = tf.gather(self._noise_len, index)
        span = tf.maximum(length - n + 1, 1)
        offset = tf.cast(tf.floor(offset_u * tf.cast(span, tf.float32)), tf.int32)
        positions = tf.math.floormod(offset[:, None] + tf.range(n)[None, :], length[:, None])
        return tf.gather(self._noise_flat, tf.gather(self._noise_start, index)[:, None] + positions)

    def colored_noise(self, n, exponent, offset_u):
        """Gaussian noise [B, n] with power spectrum ~ 1/f**exponent."""
        size = int(self._reservoir.shape[0])
        offset = tf.cast(tf.floor(offset_u * tf.cast(tf.maximum(size - n + 1, 1), tf.float32)), tf.int32)
        white = tf.gather(self._reservoir, tf.math.floormod(offset[:, None] + tf.range(n)[None, :], size))
        freqs = tf.maximum(tf.range(n // 2 + 1, dtype=tf.float32), 1.0)
        shape = tf.pow(freqs[None, :], -exponent[:, None] / 2.0)
        return tf.signal.irfft(tf.signal.rfft(white, [n]) * tf.cast(shape, tf.complex64), [n])

    def add_noise(self, x, p):
        """Add noise at p["snr_db"] (or at p["quiet_noise_dbfs"] for clips below the quiet threshold)."""
        cfg = self.config
        n = tf.shape(x)[1]
        if self.noise_bank:
            noise = self.bank_noise(n, p["noise_index"], p["noise_offset"])
            if self._reservoir is not None:
                noise = _on_rows(noise, p["colored"] & p["noise_on"],
                                 lambda _, e, o: self.colored_noise(n, e, o), p["color_exponent"], p["white_offset"])
        else:
            noise = self.colored_noise(n, p["color_exponent"], p["white_offset"])
        p_signal = _power(x)
        quiet = p_signal < 10.0 ** (cfg.quiet_threshold_dbfs / 10.0)
        target = tf.where(quiet, tf.pow(10.0, p["quiet_noise_dbfs"] / 10.0),
                          p_signal / tf.pow(10.0, p["snr_db"] / 10.0))
        scale = tf.where(p["noise_on"], tf.sqrt(target / (_power(noise) + 1e-20)), 0.0)
        return x + scale[:, None] * noise

    def apply(self, waveforms, draws):
        """Augmented waveforms [B, T] from waveforms [B, T] and per-example draws [B, NUM_DRAWS]."""
        cfg = self.config
        x = tf.convert_to_tensor(waveforms, tf.float32)
        p = self.params(draws)
        if cfg.pitch_shift_prob > 0:
            x = _on_rows(x, p["pitch_on"], self.pitch_shift, p["pitch_semitones"])
        if tuple(cfg.speed_range) != (1.0, 1.0) or cfg.time_shift_s > 0:
            x = self.speed_and_shift(x, p["speed"], p["shift_samples"])
        if cfg.reverb_prob > 0:
            x = _on_rows(x, p["reverb_on"], self.reverb, p["rir_index"])
        if cfg.noise_prob > 0:
            x = self.add_noise(x, p)
        if tuple(cfg.gain_db) != (0.0, 0.0):
            x = x * tf.pow(10.0, p["gain_db"] / 20.0)[:, None]
        # Saturate like a 16-bit recording would.
        return tf.clip_by_value(x, -1.0, 1.0)

    def __call__(self, waveform, seed):
        """Augmented copy of one waveform [T] float32; `seed` is an int [2] tensor (per example)."""
        x = tf.convert_to_tensor(waveform, tf.float32)
        return self.apply(x[None], self.draw(seed)[None])[0]

    # ---- SpecAugment on features ----

    @property
    def num_spec_draws(self) -> int:
        return 2 * (self.config.num_freq_masks + self.config.num_time_masks)

    def spec_augment_draws(self, seed):
        """Per-example uniforms in [0, 1) that fix the masks; batch them and pass to apply_spec_augment."""
        seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 1)
        return tf.random.stateless_uniform([self.num_spec_draws], seed)

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


def _gather_linear(x, pos, axis):
    """Linear interpolation of x [B, ...] at per-row float positions pos [B, M] along `axis` (1 or 2),
    clamped to the axis's ends."""
    size = tf.shape(x)[axis]
    p = tf.clip_by_value(pos, 0.0, tf.cast(size - 1, tf.float32))
    lo = tf.floor(p)
    frac = p - lo
    lo = tf.cast(lo, tf.int32)
    hi = tf.minimum(lo + 1, size - 1)
    a = tf.gather(x, lo, axis=axis, batch_dims=1)
    b = tf.gather(x, hi, axis=axis, batch_dims=1)
    frac = frac[:, :, None] if axis == 1 else frac[:, None, :]
    return a + frac * (b - a)


def vtlp_source_bins(warp, bins: int, cutoff: float = 0.8):
    """Source positions (fractional bins) that each output bin reads under a VTLP warp [B] -> [B, bins].

    Jaitly & Hinton 2013, "Vocal Tract Length Perturbation (VTLP) improves speech recognition":
    frequency f maps to warp * f up to a boundary, then linearly so that the top bin stays put.
    Here on the (mel) bin axis, normalised to [0, 1]; the boundary is cutoff * min(warp, 1) / warp.
    """
    warp = tf.convert_to_tensor(warp, tf.float32)[:, None]
    y = tf.linspace(0.0, 1.0, bins)[None, :]
    x0 = cutoff * tf.minimum(warp, 1.0) / warp
    below = y / warp
    above = x0 + (y - warp * x0) * (1.0 - x0) / (1.0 - warp * x0)
    return tf.where(y <= warp * x0, below, above) * float(bins - 1)


def perturb_features(features, frames, warp, tempo):
    """VTLP frequency warp and tempo change of batched features [B, F, bins] with valid lengths frames [B].

    warp [B]: > 1 moves spectral content up (a shorter vocal tract), 1 leaves it; tempo [B]: > 1 is
    faster speech (fewer frames), 1 leaves it. Frames are resampled by linear interpolation, so the
    output has max_b ceil((F - 1) / tempo_b) + 1 frames; rows past a row's new length read its
    padding. Returns (features, frames) with the new valid lengths.
    """
    features = tf.convert_to_tensor(features, tf.float32)
    bins = features.shape[-1]
    features = _gather_linear(features, vtlp_source_bins(warp, bins), axis=2)
    tempo = tf.convert_to_tensor(tempo, tf.float32)
    size = tf.shape(features)[1]
    span = tf.cast(size - 1, tf.float32)
    width = tf.cast(tf.math.ceil(span / tf.reduce_min(tempo)), tf.int32) + 1
    positions = tf.range(width, dtype=tf.float32)[None, :] * tempo[:, None]
    out = _gather_linear(features, positions, axis=1)
    valid = tf.cast(frames, tf.float32)
    new_frames = tf.where(frames > 0, tf.cast(tf.floor((valid - 1.0) / tempo), tf.int32) + 1, 0)
    return out, tf.cast(new_frames, frames.dtype)


def spectral_eq_gains(coefficients, bins, max_db):
    """Smooth log-power gains [B, bins] (natural-log units, |gain| <= max_db dB) over the mel axis:
    coefficients [B, 3] in [-1, 1] weigh a spectral tilt and two cosine bumps, max_db / 3 dB each.
    Adding them to log-mel rows is filtering the waveform by that (smooth) frequency response.
    """
    if not float(max_db) >= 0.0:
        raise ConfigError("spectral EQ amplitude must be >= 0 dB", received=max_db,
                          expected="a number of dB, e.g. 6", fix="set spectral_eq_db to 0 (off) or more")
    x = tf.linspace(-1.0, 1.0, int(bins))
    basis = tf.stack([x, tf.cos(math.pi * x), tf.cos(2.0 * math.pi * x)])  # [3, bins], each within [-1, 1]
    coefficients = tf.convert_to_tensor(coefficients, tf.float32)
    return tf.matmul(coefficients, basis) * (float(max_db) / 3.0 * math.log(10.0) / 10.0)


def spectral_eq(features, frames, coefficients, max_db):
    """Batched log-mel features [B, F, bins] with valid lengths frames [B], each row filtered by its
    own smooth EQ (spectral_eq_gains of coefficients [B, 3]); padding frames are left as they are.
    Draw the coefficients uniformly in [-1, 1] so a recogniser sees more spectral balances than its
    training voices have.
    """
    features = tf.convert_to_tensor(features, tf.float32)
    valid = tf.sequence_mask(frames, tf.shape(features)[1], tf.float32)[:, :, None]
    return features + spectral_eq_gains(coefficients, features.shape[-1], max_db)[:, None, :] * valid
