"""The mel contract every synthesis family shares (acoustic models predict it, vocoders invert it).

tts-slt-synth clips hold N * HOP samples and their phoneme durations sum to N frames. The mel of a
clip is LogMelSpectrogram over the clip padded by MEL_PAD = (frame_length - frame_step) / 2 zeros
on both sides, so frame n is centred on sample n * HOP + HOP / 2 and there are exactly N frames.
A vocoder maps N frames back to N * HOP samples (Griffin-Lim: its (N - 1) * HOP + frame_length
samples cropped by MEL_PAD on both sides).
"""

from __future__ import annotations

import numpy as np

TTS_CORPUS = {"corpus": "tts-slt-synth", "split_by": "sentence", "synthetic_speech": True}
TTS_MEL = dict(sample_rate=16000, frame_length=800, frame_step=200, fft_length=1024, num_mel_bins=80, fmin=0.0,
               fmax=8000.0, log_offset=1e-6, power=2.0)
HOP = TTS_MEL["frame_step"]
MEL_PAD = (TTS_MEL["frame_length"] - TTS_MEL["frame_step"]) // 2


def tts_mel_frontend(name: str = "tts_mel"):
    """The LogMelSpectrogram of TTS_MEL (apply it to a waveform padded by MEL_PAD, see clip_mel)."""
    from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram

    return LogMelSpectrogram(**TTS_MEL, name=name)


def clip_mel(waveforms, frontend=None):
    """f32[B, N * HOP] -> log-mel f32[B, N, 80] (the targets of acoustic models, inputs of vocoders)."""
    import tensorflow as tf

    frontend = frontend or tts_mel_frontend()
    x = tf.convert_to_tensor(np.asarray(waveforms, np.float32) if not tf.is_tensor(waveforms) else waveforms)
    return frontend(tf.pad(x, [[0, 0], [MEL_PAD, MEL_PAD]]))


def clip_mels(waves, batch: int = 32) -> list[np.ndarray]:
    """clip_mel of each waveform ([N, 80] for N * HOP samples), computed in zero-padded batches:
    the extra zeros sit where clip_mel's own MEL_PAD zeros are, so frames 0..N-1 are unchanged."""
    frontend = tts_mel_frontend()
    out = []
    for i in range(0, len(waves), batch):
        part = waves[i:i + batch]
        longest = max(len(w) for w in part)
        padded = np.stack([np.pad(w, (0, longest - len(w))) for w in part])
        mel = clip_mel(padded, frontend).numpy()
        out.extend(m[:len(w) // HOP] for m, w in zip(mel, part))
    return out
