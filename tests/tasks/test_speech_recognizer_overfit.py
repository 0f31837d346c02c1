"""A tiny overfit per ASR family: three noise 'utterances' with their own transcripts are memorised
(CTC, RNN-T and attention losses, each family's greedy decoding)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from test_speech_recognizer import FAMILIES, tiny

# Updates each family needs at lr 0.02 (the transducer's joint learns its alignment more slowly).
STEPS = {"cldnn_ctc": 120, "deepspeech2": 120, "rnnt": 250, "las": 120, "las_ctc": 120}


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_overfit(family):
    """Three noise 'utterances' with their own transcripts are memorised by each family."""
    keras.utils.set_random_seed(0)
    task = tiny(family)
    texts = ["go", "stop", "yes no"]
    rng = np.random.default_rng(0)
    w = (rng.normal(0, 0.3, (3, 8000)) * np.linspace(0.2, 1.0, 8000)[None] ** rng.uniform(0.5, 3, (3, 1)))
    w = tf.constant(w.astype(np.float32))
    feats = task.frontend(w)
    frames = tf.fill([3], feats.shape[1])
    ids = [task.tokenizer.encode(t) for t in texts]
    labels = tf.constant([i + [0] * (6 - len(i)) for i in ids], tf.int32)
    label_length = tf.constant([len(i) for i in ids], tf.int32)
    opt = keras.optimizers.Adam(0.02)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(task.sequence_loss(feats, frames, labels, label_length, training=True))
        grads = tape.gradient(loss, task.trainable_variables)
        opt.apply_gradients(zip(grads, task.trainable_variables))
        return loss

    first = float(step())
    for _ in range(STEPS[family]):
        loss = float(step())
    assert loss < 0.1 * first
    # Three examples give no usable batch-norm moving statistics: decode with the batch's (dropout is 0).
    encoded, length = task.encode(feats, frames, training=True)
    if family == "rnnt":
        # A young transducer spreads each label over many frames (blank stays the argmax at every
        # frame although the label sequence is likely): the beam search sums over those alignments.
        text = task.beam_search(encoded.numpy(), length.numpy(), beam_width=4)
    else:
        token_ids, token_length = task.decode_greedy(encoded, length)
        text = [t.decode() for t in task.ids_to_text(token_ids, token_length).numpy()]
    assert text == texts, (family, loss, text)
    # Kept to a word list without "stop", the beam writes listed words only; with every word it agrees.
    words = ["go", "top", "yes", "no"]
    kept = task.beam_search(encoded.numpy(), length.numpy(), beam_width=4, lexicon=words)
    assert kept[0] == "go" and kept[2] == "yes no" and set(kept[1].split()) <= set(words), (family, kept)
    assert task.beam_search(encoded.numpy(), length.numpy(), beam_width=4, lexicon=words + ["stop"]) == texts
