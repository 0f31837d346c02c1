"""Keras layer around ctc_greedy, so a recognizer's exported graph can end in token ids."""

from __future__ import annotations

import keras

from zoo.decoding.ctc_greedy import ctc_greedy


@keras.saving.register_keras_serializable(package="zoo")
class CTCGreedyDecoder(keras.layers.Layer):
    """logits float[B, T, V] (+ optional logit_length i32[B]) -> {"token_ids": i32[B, U] padded
    with 0, "token_length": i32[B]}; best-path decoding with blank id 0 (see `ctc_greedy`).

    No weights, no arguments besides the base layer's; usable in a functional model, exported by
    model.export, and convertible to TFLite builtins.
    """

    def call(self, logits, logit_length=None):
        token_ids, token_length = ctc_greedy(logits, logit_length)
        return {"token_ids": token_ids, "token_length": token_length}

    def compute_output_spec(self, logits, logit_length=None):
        batch = logits.shape[0]
        return {"token_ids": keras.KerasTensor((batch, None), dtype="int32"),
                "token_length": keras.KerasTensor((batch,), dtype="int32")}
