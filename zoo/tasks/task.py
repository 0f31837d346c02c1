"""Task: a keras.Model = frontend + backbone + head (+ post-processing) that owns its serving contract.

Subclasses are functional models built in __init__ (like keras-hub tasks), so they export, stream
and quantize cleanly; get_config returns every constructor argument, nested layers serialized.
"""

from __future__ import annotations

import keras

from zoo.signatures import Signature, signature_schema

KINDS = ("recognition", "separation", "synthesis")


class Task(keras.Model):
    """Base class. Subclasses set `kind` and implement `signature()` and the predict_* helpers."""

    kind: str = ""

    @property
    def sample_rate(self) -> int:
        return int(self._sample_rate)

    def signature(self) -> Signature:
        raise NotImplementedError(f"{type(self).__name__} does not declare a serving signature")

    def signature_schema(self) -> dict:
        return signature_schema(self.signature(), sample_rate=self.sample_rate, labels=getattr(self, "labels", None))

    def predict_file(self, path, **kwargs):
        """Read `path` with zoo.audio (validated, resampled to the model's rate) and predict."""
        from zoo.audio import read_audio

        waveform, _ = read_audio(path, sample_rate=self.sample_rate, mono=True, **kwargs)
        return self.predict_waveform(waveform)

    def predict_waveform(self, waveform):
        raise NotImplementedError
