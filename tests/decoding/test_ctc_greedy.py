"""ctc_greedy against a numpy best-path reference; the Keras layer through SavedModel and TFLite."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.decoding.ctc_greedy import ctc_greedy
from zoo.decoding.ctc_greedy_decoder import CTCGreedyDecoder

SCRIPT = Path(__file__).with_name("ctc_greedy_tflite.py")


def reference(logits, length):
    out, prev = [], None
    for k in np.argmax(logits[:length], axis=-1):
        if k != prev and k != 0:
            out.append(int(k))
        prev = k
    return out


def test_hand_made_paths():
    paths = [[1, 1, 0, 2, 2, 3, 0, 3], [0] * 8, [2, 0, 2, 2, 1, 1, 1, 1]]
    logits = np.eye(4, dtype=np.float32)[paths]
    ids, length = ctc_greedy(logits, [8, 8, 4])
    np.testing.assert_array_equal(ids.numpy(), [[1, 2, 3, 3], [0, 0, 0, 0], [2, 2, 0, 0]])
    np.testing.assert_array_equal(length.numpy(), [4, 0, 2])
    assert ids.dtype == tf.int32 and length.dtype == tf.int32


def test_random_batches_match_reference():
    rng = np.random.default_rng(0)
    for trial in range(5):
        logits = rng.normal(size=(4, 15, 6)).astype(np.float32)
        logits[..., 0] += rng.uniform(0, 2)
        lengths = rng.integers(0, 16, 4)
        ids, length = (x.numpy() for x in ctc_greedy(logits, lengths))
        refs = [reference(logits[b], lengths[b]) for b in range(4)]
        assert ids.shape == (4, max(1, max(map(len, refs))))
        for b, ref in enumerate(refs):
            assert length[b] == len(ref)
            assert ids[b, :len(ref)].tolist() == ref and not ids[b, len(ref):].any()


def test_all_blank_batch_keeps_one_padded_column():
    ids, length = ctc_greedy(np.tile(np.eye(3, dtype=np.float32)[0], (2, 5, 1)))
    assert ids.shape == (2, 1) and not ids.numpy().any() and not length.numpy().any()


def test_tf_function_with_dynamic_shapes():
    fn = tf.function(ctc_greedy, input_signature=[tf.TensorSpec([None, None, None], tf.float32),
                                                  tf.TensorSpec([None], tf.int32)])
    logits = np.random.default_rng(1).normal(size=(2, 9, 4)).astype(np.float32)
    want = ctc_greedy(logits, [9, 5])
    got = fn(logits, tf.constant([9, 5]))
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w.numpy(), g.numpy())


def test_layer_in_a_functional_model_round_trips():
    logits = keras.Input((None, 5), name="logits")
    length = keras.Input((), dtype="int32", name="logit_length")
    model = keras.Model([logits, length], CTCGreedyDecoder(name="greedy")(logits, length))
    clone = keras.Model.from_config(model.get_config())
    x = np.random.default_rng(2).normal(size=(3, 7, 5)).astype(np.float32)
    out = clone([x, np.array([7, 3, 0], np.int32)])
    want = ctc_greedy(x, [7, 3, 0])
    np.testing.assert_array_equal(out["token_ids"], want[0].numpy())
    np.testing.assert_array_equal(out["token_length"], want[1].numpy())


@pytest.fixture(scope="module")
def tflite_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("ctc_greedy") / "results.json"
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_exported_model_converts_to_tflite_builtins_and_matches(tflite_results):
    assert "error" not in tflite_results, tflite_results.get("error")
    ops = set(tflite_results["ops"])
    assert "ARG_MAX" in ops and "SCATTER_ND" in ops
    assert not any(op.startswith(("FlexDelegate", "CUSTOM", "Flex")) for op in ops), ops
    assert len(tflite_results["cases"]) == 4
    for case in tflite_results["cases"]:
        assert case["got_ids"] == case["want_ids"] and case["got_length"] == case["want_length"]
        assert case["saved_ids"] == case["want_ids"]
        assert case["saved_length"] == case["want_length"]
    assert tflite_results["cases"][-1]["want_length"] == [0]  # the empty transcript case
