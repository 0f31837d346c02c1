"""8-bit mu-law companding (ITU-T G.711 curve) with the quantization convention of librosa.mu_compress /
mu_expand, shifted to class ids 0..quantization_channels - 1 (librosa's integers + channels // 2).

Works on numpy arrays and on TF tensors (the incremental generator decodes inside its graph).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import AudioError, ConfigError


def _mu(quantization_channels) -> int:
    ok = isinstance(quantization_channels, int) and not isinstance(quantization_channels, bool)
    if not ok or quantization_channels < 2:
        raise ConfigError("mu-law quantization_channels must be an int >= 2", received=repr(quantization_channels),
                          expected="256 (8-bit mu-law)", fix="pass quantization_channels=256")
    return quantization_channels - 1


def mu_law_encode(waveform, quantization_channels: int = 256):
    """Waveform in [-1, 1] -> int32 class ids in [0, quantization_channels).

    Bins as librosa.mu_compress(quantize=True): class = ceil((F(x) + 1) * mu / 2), F the mu-law curve;
    silence (0.0) is class quantization_channels // 2.
    """
    mu = _mu(quantization_channels)
    import tensorflow as tf

    if tf.is_tensor(waveform):
        x = tf.clip_by_value(tf.cast(waveform, tf.float32), -1.0, 1.0)
        comp = tf.sign(x) * tf.math.log1p(mu * tf.abs(x)) / float(np.log1p(mu))
        return tf.cast(tf.clip_by_value(tf.math.ceil((comp + 1.0) * (mu / 2.0)), 0.0, float(mu)), tf.int32)
    x = np.asarray(waveform, dtype=np.float64)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < -1.0 or x.max() > 1.0):
        raise AudioError("mu_law_encode needs a waveform in [-1, 1]",
                         received=f"range [{np.nanmin(x):.4g}, {np.nanmax(x):.4g}]" if x.size else "empty",
                         expected="finite float samples with |x| <= 1", fix="normalise or clip the waveform first")
    comp = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.clip(np.ceil((comp + 1.0) * (mu / 2.0)), 0, mu).astype(np.int32)


def mu_law_decode(classes, quantization_channels: int = 256):
    """Class ids in [0, quantization_channels) -> float32 waveform (librosa.mu_expand(quantize=True) of
    classes - quantization_channels // 2)."""
    mu = _mu(quantization_channels)
    half = (mu + 1) // 2
    import tensorflow as tf

    if tf.is_tensor(classes):
        v = (tf.cast(classes, tf.float32) - float(half)) * (2.0 / (mu + 1))
        return tf.sign(v) / mu * (tf.pow(float(mu + 1), tf.abs(v)) - 1.0)
    c = np.asarray(classes)
    if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() > mu):
        raise AudioError("mu_law_decode needs integer class ids", received=f"dtype {c.dtype}, range "
                         f"[{c.min()}, {c.max()}]", expected=f"integers in [0, {mu}]",
                         fix="pass the argmax / sampled classes of the model's logits")
    v = (c.astype(np.float64) - half) * (2.0 / (mu + 1))
    return (np.sign(v) / mu * (np.power(mu + 1.0, np.abs(v)) - 1.0)).astype(np.float32)
