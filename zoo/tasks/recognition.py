"""Recognition tasks. AudioClassifier: waveform -> frontend -> backbone -> Dense -> softmax scores."""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import AudioError, ConfigError
from zoo.signatures import classifier_signature
from zoo.tasks.task import Task


def _as_layer(spec_or_layer, what: str):
    if isinstance(spec_or_layer, keras.layers.Layer):
        return spec_or_layer
    if isinstance(spec_or_layer, dict):
        # Presets name zoo classes by their plain class name; full Keras configs carry "module".
        registered = keras.saving.get_registered_object(f"zoo>{spec_or_layer.get('class_name')}")
        if registered is not None and "module" not in spec_or_layer:
            return registered.from_config(spec_or_layer.get("config", {}))
        return keras.saving.deserialize_keras_object(spec_or_layer)
    raise ConfigError(
        f"AudioClassifier {what} must be a Keras layer or its serialized config",
        received=type(spec_or_layer).__name__,
        expected="keras.layers.Layer or {'class_name': ..., 'config': ...}",
    )


@keras.saving.register_keras_serializable(package="zoo")
class AudioClassifier(Task):
    """Fixed-length clip classifier (keyword spotting, scenes, speaker/language ID).

    Args:
        backbone: maps features [B, frames, bins] (input "features") to an embedding [B, D].
        frontend: waveform [B, clip_samples] -> features; kept inside the exported graph.
        labels: class names; output `scores` has len(labels) columns in this order.
        sample_rate: Hz of the expected waveform.
        clip_samples: samples per clip; longer audio is windowed, shorter zero-padded (predict_waveform).
        dropout: dropout on the embedding before the classifier head (training only).
    """

    kind = "recognition"

    def __init__(self, backbone, frontend, labels, sample_rate, clip_samples, dropout=0.0, **kwargs):
        backbone = _as_layer(backbone, "backbone")
        frontend = _as_layer(frontend, "frontend")
        labels = [str(x) for x in labels]
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ConfigError("labels must be at least two distinct names", received=labels)
        waveform = keras.Input(shape=(int(clip_samples),), dtype="float32", name="waveform")
        features = frontend(waveform)
        head_dropout = keras.layers.Dropout(float(dropout), name="head_dropout")
        head = keras.layers.Dense(len(labels), name="logits")
        softmax = keras.layers.Softmax(name="scores")
        scores = softmax(head(head_dropout(backbone(features))))
        super().__init__(inputs=waveform, outputs=scores, **kwargs)
        self.backbone = backbone
        self.frontend = frontend
        self.head_dropout = head_dropout
        self.head = head
        self.softmax = softmax
        self.labels = labels
        self._sample_rate = int(sample_rate)
        self.clip_samples = int(clip_samples)
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "frontend": keras.saving.serialize_keras_object(self.frontend),
            "labels": list(self.labels),
            "sample_rate": self.sample_rate,
            "clip_samples": self.clip_samples,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = _as_layer(config["backbone"], "backbone")
        config["frontend"] = _as_layer(config["frontend"], "frontend")
        return cls(**config)

    def signature(self):
        return classifier_signature(len(self.labels))

    def feature_classifier(self) -> keras.Model:
        """features -> scores, sharing this task's layers: training computes features in tf.data
        (an in-model STFT halves CPU training speed, DESIGN.md section 5)."""
        features = keras.Input(shape=tuple(self.backbone.input_shape[1:]), dtype="float32", name="features")
        scores = self.softmax(self.head(self.head_dropout(self.backbone(features))))
        return keras.Model(features, scores, name=f"{self.name}_features")

    def select_window(self, waveform: np.ndarray) -> np.ndarray:
        """One clip from a mono waveform: zero-pad short audio (centered); for long audio take the
        clip_samples window with the most energy (where a keyword is)."""
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1 or waveform.size == 0:
            raise AudioError(
                "AudioClassifier expects one non-empty mono waveform",
                received=f"shape {waveform.shape}",
                expected="shape [T] with T > 0",
            )
        n = self.clip_samples
        if waveform.size <= n:
            pad = n - waveform.size
            return np.pad(waveform, (pad // 2, pad - pad // 2))
        hop = max(1, self.sample_rate // 100)
        energy = np.concatenate([[0.0], np.cumsum(waveform.astype(np.float64) ** 2)])
        starts = np.arange(0, waveform.size - n + 1, hop)
        best = int(starts[np.argmax(energy[starts + n] - energy[starts])])
        return waveform[best : best + n]

    def predict_waveform(self, waveform) -> dict:
        """Classify one mono waveform at self.sample_rate: {"label", "score", "scores"}."""
        clip = self.select_window(waveform)
        scores = np.asarray(self(clip[None, :], training=False))[0]
        best = int(np.argmax(scores))
        return {
            "label": self.labels[best],
            "label_id": best,
            "score": float(scores[best]),
            "scores": {label: float(s) for label, s in zip(self.labels, scores)},
        }
