"""The single source of truth for serving signatures: endpoint names, tensor names, dtypes, shapes, units.

export/ builds one endpoint per signature (plus `serving_default`); serving/ and the client read the same
schema; metadata.json in every artifact records `signature_schema()` with the sample rate (DESIGN.md section 3).
Shapes use None for dynamic dimensions; "B" is always the batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str  # numpy / TF dtype name: "float32", "int32", "string"
    shape: tuple  # None for dynamic dimensions
    description: str = ""

    def to_tf(self):
        import tensorflow as tf

        return tf.TensorSpec(shape=self.shape, dtype=tf.as_dtype(self.dtype), name=self.name)


@dataclass(frozen=True)
class Signature:
    endpoint: str  # recognize | separate | synthesize
    kind: str  # classifier | sequence | framewise | separation | synthesis
    inputs: tuple = field(default_factory=tuple)
    outputs: tuple = field(default_factory=tuple)

    def input_names(self):
        return [t.name for t in self.inputs]

    def output_names(self):
        return [t.name for t in self.outputs]

    def to_json(self):
        return asdict(self)


WAVEFORM = TensorSpec("waveform", "float32", (None, None), "mono waveform in [-1, 1] at the model's sample rate")
WAVEFORM_LENGTH = TensorSpec("waveform_length", "int32", (None,), "valid samples per row; the rest is padding")


def classifier_signature(num_classes: int) -> Signature:
    """recognize endpoint of an audio classifier (keyword spotting, scenes, tagging, speaker/language ID)."""
    return Signature(
        endpoint="recognize",
        kind="classifier",
        inputs=(WAVEFORM, WAVEFORM_LENGTH),
        outputs=(
            TensorSpec("scores", "float32", (None, num_classes), "class probabilities (softmax)"),
            TensorSpec("label_ids", "int32", (None,), "argmax class index"),
            TensorSpec("labels", "string", (None,), "argmax class name"),
        ),
    )


def sequence_signature() -> Signature:
    return Signature(
        endpoint="recognize",
        kind="sequence",
        inputs=(WAVEFORM, WAVEFORM_LENGTH),
        outputs=(
            TensorSpec("token_ids", "int32", (None, None)),
            TensorSpec("token_length", "int32", (None,)),
            TensorSpec("text", "string", (None,)),
        ),
    )


def framewise_signature(num_classes: int) -> Signature:
    return Signature(
        endpoint="recognize",
        kind="framewise",
        inputs=(WAVEFORM, WAVEFORM_LENGTH),
        outputs=(
            TensorSpec("activations", "float32", (None, None, num_classes)),
            TensorSpec("frame_rate", "float32", (), "frames per second"),
        ),
    )


def separation_signature(num_sources: int) -> Signature:
    return Signature(
        endpoint="separate",
        kind="separation",
        inputs=(
            TensorSpec("mixture", "float32", (None, None)),
            TensorSpec("mixture_length", "int32", (None,)),
        ),
        outputs=(TensorSpec("sources", "float32", (None, num_sources, None)),),
    )


def synthesis_signature() -> Signature:
    return Signature(
        endpoint="synthesize",
        kind="synthesis",
        inputs=(TensorSpec("text", "string", (None,)),),
        outputs=(WAVEFORM, WAVEFORM_LENGTH),
    )


def signature_schema(signature: Signature, *, sample_rate: int, labels=None) -> dict:
    """The JSON recorded in metadata.json and returned by GetModelMetadata."""
    schema = {"sample_rate": int(sample_rate), "signatures": {signature.endpoint: signature.to_json()}}
    if labels is not None:
        schema["labels"] = list(labels)
    return schema
