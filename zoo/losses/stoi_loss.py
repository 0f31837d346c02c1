"""A differentiable STOI (Taal et al. 2011) for training enhancement models, and its negative as a loss.

SI-SDR weighs the error by energy, so a denoiser trained on it may give up the weak high-frequency
parts of speech that STOI weighs like every other 1/3-octave band. This follows pystoi's algorithm
step by step, with its constants and band matrix, at the signal's own sample rate instead of resampling
to 10 kHz:

1. STFT with 25.6 ms Hann frames, 50 % overlap, FFT twice the frame;
2. frames whose clean energy lies more than 40 dB below the loudest clean frame are dropped
   (gathered to the end and excluded: pystoi cuts them out of the waveform);
3. 15 one-third-octave band envelopes from 150 Hz;
4. every 30-frame (384 ms) segment: the estimate's envelope scaled to the clean one's energy, clipped
   at 15 dB SDR, then the correlation with the clean envelope; STOI = mean over bands and segments.

`stoi` returns f32[B] close to pystoi's value (tests/losses/test_stoi_loss.py measures how close);
it is a training objective, not the metric: score with zoo.metrics.separation.stoi_score.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from pystoi.stoi import BETA, DYN_RANGE, MINFREQ, N_FRAME, NUMBAND
from pystoi.stoi import FS as PYSTOI_RATE
from pystoi.stoi import N as SEGMENT_FRAMES
from pystoi.utils import thirdoct

from zoo.blocks.frame_signal import frame_by_gather
from zoo.errors import ConfigError

CLIP = 1.0 + 10.0 ** (-BETA / 20.0)  # pystoi's lower SDR bound
EPS = 1e-8


def _frame_sizes(sample_rate: int):
    """pystoi's 256-sample frames at 10 kHz (25.6 ms) at this rate; hop half a frame; FFT twice the frame."""
    frame = int(round(N_FRAME * sample_rate / PYSTOI_RATE))
    return frame, frame // 2, int(2 ** np.ceil(np.log2(2 * frame)))


def stoi(y_true, y_pred, sample_rate: int):
    """STOI of each estimate against its clean reference: f32[...] for waveforms f32[..., T].

    T must be static (a traced training crop is) and hold at least 30 frames of speech (about
    0.4 s); an example with fewer scores 0 (pystoi: 1e-5 and a warning). Gradients reach y_pred only in the
    frames kept (clean frames within 40 dB of the loudest).
    """
    frame, hop, fft_length = _frame_sizes(int(sample_rate))
    leading = ops.shape(y_true)[:-1]
    y_true = ops.reshape(ops.cast(y_true, "float32"), (-1, ops.shape(y_true)[-1]))
    y_pred = ops.reshape(ops.cast(y_pred, "float32"), (-1, ops.shape(y_pred)[-1]))
    bands = ops.convert_to_tensor(thirdoct(int(sample_rate), fft_length, NUMBAND, MINFREQ)[0].T.astype(np.float32))

    def band_envelopes(x):  # f32[B, T] -> f32[B, frames, NUMBAND], and the frames' power
        real, imag = ops.stft(x, frame, hop, fft_length, window="hann", center=False)
        power = ops.square(real) + ops.square(imag)
        return ops.sqrt(ops.matmul(power, bands) + EPS), ops.sum(power, axis=-1)

    clean, clean_power = band_envelopes(y_true)
    estimate, _ = band_envelopes(y_pred)
    num_frames = clean.shape[1]  # static: T is
    if num_frames < SEGMENT_FRAMES:  # not one segment: score 0, no gradient
        return ops.zeros(leading)

    # Drop silent frames: stable order "kept frames first", then count how many segments fit.
    energy_db = 10.0 * ops.log(clean_power + EPS) / np.log(10.0)
    kept = ops.cast(energy_db > ops.max(energy_db, axis=1, keepdims=True) - DYN_RANGE, "float32")
    order = ops.argsort((1.0 - kept) * ops.cast(num_frames, "float32") + ops.cast(ops.arange(num_frames), "float32"),
                        axis=1)
    clean = ops.take_along_axis(clean, order[:, :, None], axis=1)
    estimate = ops.take_along_axis(estimate, order[:, :, None], axis=1)
    num_segments = num_frames - SEGMENT_FRAMES + 1
    last_frame = ops.cast(ops.arange(num_segments) + SEGMENT_FRAMES, "float32")[None, :]
    valid = ops.cast(last_frame <= ops.sum(kept, axis=1, keepdims=True), "float32")  # f32[B, segments]

    def segments(envelope):  # f32[B, frames, NUMBAND] -> f32[B, NUMBAND, segments, SEGMENT_FRAMES]
        batch = ops.shape(envelope)[0]
        per_band = ops.reshape(ops.transpose(envelope, (0, 2, 1)), (-1, num_frames))
        framed = frame_by_gather(per_band, SEGMENT_FRAMES, 1)
        return ops.reshape(framed, (batch, NUMBAND, num_segments, SEGMENT_FRAMES))

    x, y = segments(clean), segments(estimate)
    scale = ops.sqrt(ops.sum(ops.square(x), -1, keepdims=True)) / (ops.sqrt(ops.sum(ops.square(y), -1,
                                                                                    keepdims=True)) + EPS)
    y = ops.minimum(y * scale, x * CLIP)
    x = x - ops.mean(x, -1, keepdims=True)
    y = y - ops.mean(y, -1, keepdims=True)
    correlation = ops.sum(x * y, -1) / (ops.sqrt(ops.sum(ops.square(x), -1) * ops.sum(ops.square(y), -1)) + EPS)
    per_segment = ops.mean(correlation, axis=1)  # f32[B, segments]
    score = ops.sum(per_segment * valid, -1) / ops.maximum(ops.sum(valid, -1), 1.0)
    return ops.reshape(score, leading)


@keras.saving.register_keras_serializable(package="zoo")
class NegativeSTOI(keras.losses.Loss):
    """1 - STOI of waveforms f32[..., T]; `call` returns f32[...] (the time axis reduced).

    Args:
        sample_rate: the waveforms' rate in Hz (sets the 25.6 ms frames and the band edges).
    """

    def __init__(self, sample_rate=16000, reduction="sum_over_batch_size", name="negative_stoi", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 8000:
            raise ConfigError("NegativeSTOI: sample_rate must be an int of at least 8000 Hz",
                              received=repr(sample_rate), expected="e.g. 16000",
                              fix="pass the waveforms' sample rate, e.g. sample_rate=16000")
        self.sample_rate = sample_rate

    def call(self, y_true, y_pred):
        return 1.0 - stoi(y_true, y_pred, self.sample_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"sample_rate": self.sample_rate})
        return config
