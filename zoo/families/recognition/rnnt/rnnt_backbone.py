"""The RNN-T encoder: a DeepSpeech2-style conv subsampler + recurrent stack (time stride 2)."""

from __future__ import annotations

import keras

from zoo.families.recognition.deepspeech2.deepspeech2_backbone import DeepSpeech2Backbone


@keras.saving.register_keras_serializable(package="zoo")
class RNNTBackbone(DeepSpeech2Backbone):
    """Transducer encoder, features [B, F0, bins] -> [B, ceil(F0 / time_stride), D]; the arguments and
    layers of DeepSpeech2Backbone (causal=True gives a streaming-ready encoder)."""

    def __init__(self, num_features, **kwargs):
        kwargs.setdefault("name", "rnnt_backbone")
        super().__init__(num_features, **kwargs)
