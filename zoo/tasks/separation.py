"""Separation and enhancement: mixture f32[B, T] + mixture_length i32[B] -> sources f32[B, S, T].

The backbone is a framed model over a padded waveform: it maps f32[B, T'] to f32[B, S, T'] for any
T' = frame_length + k * frame_step (an analysis / synthesis pair with overlap-add). The task pads
each mixture to such a length and crops the sources back (SeparationPadding, SeparationCrop):

    left pad P = frame_length - frame_step zeros; total T' = ceil((P + T) / hop) * hop + P;
    sources = backbone(padded)[:, :, P : P + T].

With P leading zeros every output sample is covered by all of its overlapping frames, and a
frame-by-frame streaming model that starts from zero state computes exactly the same frames, so
its output equals the whole-utterance output delayed by P samples (algorithmic latency =
frame_length). Samples past mixture_length are zeroed before the backbone and in the output.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.signatures import separation_signature
from zoo.tasks.recognition import _as_layer
from zoo.tasks.task import Task


def padded_length(length: int, frame_length: int, frame_step: int) -> int:
    """T' of the module doc for a mixture of `length` samples."""
    pad = frame_length - frame_step
    return -(-(pad + length) // frame_step) * frame_step + pad


@keras.saving.register_keras_serializable(package="zoo")
class SeparationPadding(keras.layers.Layer):
    """(mixture f32[B, T], mixture_length i32[B]) -> f32[B, T'] (zeros past each row's length, then the
    module doc's padding)."""

    def __init__(self, frame_length, frame_step, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("frame_length", frame_length), ("frame_step", frame_step)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"SeparationPadding {what} must be a positive int", received=value)
        if frame_step > frame_length:
            raise ConfigError("SeparationPadding frame_step exceeds frame_length",
                              received=(frame_length, frame_step), expected="frame_step <= frame_length")
        self.frame_length, self.frame_step = frame_length, frame_step

    def call(self, mixture, mixture_length):
        t = tf.shape(mixture)[1]
        valid = tf.range(t)[None, :] < tf.cast(tf.reshape(mixture_length, [-1, 1]), tf.int32)
        x = tf.where(valid, mixture, tf.zeros_like(mixture))
        pad = self.frame_length - self.frame_step
        total = (pad + t + self.frame_step - 1) // self.frame_step * self.frame_step + pad
        return tf.pad(x, [[0, 0], [pad, total - pad - t]])

    def compute_output_spec(self, mixture, mixture_length):
        return keras.KerasTensor((mixture.shape[0], None), dtype=mixture.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step}


@keras.saving.register_keras_serializable(package="zoo")
class SeparationCrop(keras.layers.Layer):
    """(sources f32[B, S, T'], mixture f32[B, T], mixture_length i32[B]) -> f32[B, S, T]: drops the
    left padding of `offset` samples, crops to T and zeroes samples past each row's length."""

    def __init__(self, offset, **kwargs):
        super().__init__(**kwargs)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ConfigError("SeparationCrop offset must be an int >= 0", received=offset)
        self.offset = offset

    def call(self, sources, mixture, mixture_length):
        t = tf.shape(mixture)[1]
        out = sources[:, :, self.offset:self.offset + t]
        valid = tf.range(t)[None, None, :] < tf.cast(tf.reshape(mixture_length, [-1, 1, 1]), tf.int32)
        return tf.where(valid, out, tf.zeros_like(out))

    def compute_output_spec(self, sources, mixture, mixture_length):
        return keras.KerasTensor((sources.shape[0], sources.shape[1], None), dtype=sources.dtype)

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@keras.saving.register_keras_serializable(package="zoo")
class SourceSeparator(Task):
    """Single-channel source separation (S speakers) or enhancement (S = 1: the clean speech).

    Args:
        backbone: framed model f32[B, T'] ("mixture") -> f32[B, S, T'] with int attributes
            `frame_length`, `frame_step` and `num_sources` (see the module doc).
        sample_rate: Hz of the expected waveform.
        frontend: unused placeholder kept for the preset schema (the analysis transform is part of
            the backbone: learned for Conv-TasNet, an STFT for DTLN / BLSTM masks); must be None.
    Output: {"sources": f32[B, S, T]} for inputs {"mixture": f32[B, T], "mixture_length": i32[B]}.
    """

    kind = "separation"

    def __init__(self, backbone, sample_rate, frontend=None, **kwargs):
        backbone = _as_layer(backbone, "backbone")
        if frontend is not None:
            raise ConfigError("SourceSeparator takes no separate frontend (the backbone owns its transform)",
                              received=frontend, expected="None", fix="set the preset's frontend to None")
        for attr in ("frame_length", "frame_step", "num_sources"):
            if not isinstance(getattr(backbone, attr, None), int):
                raise ConfigError(f"SourceSeparator backbone lacks an int `{attr}`", received=type(backbone).__name__,
                                  expected="a separation backbone (Conv-TasNet, DTLN, BLSTM mask)")
        mixture = keras.Input(shape=(None,), dtype="float32", name="mixture")
        mixture_length = keras.Input(shape=(), dtype="int32", name="mixture_length")
        pad = SeparationPadding(backbone.frame_length, backbone.frame_step, name="pad_to_stride")
        crop = SeparationCrop(backbone.frame_length - backbone.frame_step, name="sources")
        sources = crop(backbone(pad(mixture, mixture_length)), mixture, mixture_length)
        super().__init__(inputs={"mixture": mixture, "mixture_length": mixture_length},
                         outputs={"sources": sources}, **kwargs)
        self.backbone, self.pad, self.crop = backbone, pad, crop
        self._sample_rate = int(sample_rate)
        self.num_sources = int(backbone.num_sources)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "sample_rate": self.sample_rate,
            "frontend": None,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = _as_layer(config["backbone"], "backbone")
        return cls(**config)

    def signature(self):
        return separation_signature(self.num_sources)

    @property
    def labels(self):
        return None

    @property
    def algorithmic_latency_ms(self) -> float:
        """Frame length in ms: a frame must be complete before its overlap-add output is final."""
        return 1000.0 * self.backbone.frame_length / self.sample_rate

    def separate(self, mixture, mixture_length):
        """Graph function: f32[B, S, T] (what the SavedModel's separate endpoint serves)."""
        return self({"mixture": mixture, "mixture_length": mixture_length}, training=False)["sources"]

    def predict_waveform(self, waveform) -> dict:
        """Separate one mono waveform at self.sample_rate: {"sources": f32[S, T], "sample_rate"}."""
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1 or waveform.size == 0:
            raise AudioError("SourceSeparator expects one non-empty mono waveform", received=f"shape {waveform.shape}",
                             expected="shape [T] with T > 0")
        if not np.all(np.isfinite(waveform)):
            raise AudioError("waveform has NaN or Inf samples", received="non-finite samples",
                             expected="finite samples in [-1, 1]", fix="check the decoder / resampler")
        if getattr(self, "_predict_fn", None) is None:  # traced once: eager LSTM loops are ~100x slower
            self._predict_fn = tf.function(self.separate, input_signature=[
                tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)], reduce_retracing=True)
        out = self._predict_fn(tf.constant(waveform[None]), tf.constant([waveform.size], tf.int32))
        return {"sources": out.numpy()[0], "sample_rate": self.sample_rate}
