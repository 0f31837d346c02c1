"""Export a Keras model ending in CTCGreedyDecoder (model.export), convert it to TFLite with builtins
only, and compare the interpreter's outputs with ctc_greedy.

Run by test_ctc_greedy.py in a subprocess (the converter can crash its process):
    python tests/decoding/ctc_greedy_tflite.py OUT.json
Writes: ops (builtin op names), cases (list of {want_ids, want_length, got_ids, got_length,
saved_ids, saved_length}: ctc_greedy eager, TFLite, reloaded SavedModel), or error.
"""

import json
import os
import sys
import tempfile
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402

from zoo.decoding.ctc_greedy import ctc_greedy  # noqa: E402
from zoo.decoding.ctc_greedy_decoder import CTCGreedyDecoder  # noqa: E402

T, V = 12, 5


def convert(tmp):
    """-> (TFLite flatbuffer, reloaded SavedModel)."""
    logits = keras.Input((T, V), batch_size=1, name="logits")
    length = keras.Input((), batch_size=1, dtype="int32", name="logit_length")
    model = keras.Model([logits, length], CTCGreedyDecoder()(logits, length))
    model.export(tmp, format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert(), tf.saved_model.load(tmp)


def check(content, saved):
    interp = Interpreter(model_content=content,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = interp.get_signature_runner(next(iter(interp.get_signature_list())))
    rng = np.random.default_rng(0)
    cases = []
    for frames in (T, 7, 2, 0):
        x = rng.normal(size=(1, T, V)).astype(np.float32)
        x[0, ::3, 0] += 3.0  # plenty of blanks and repeats
        length = np.array([frames], np.int32)
        out = runner(logits=x, logit_length=length)
        ids, lens = ctc_greedy(x, length)
        served = saved.serve([tf.constant(x), tf.constant(length)])
        cases.append({"want_ids": ids.numpy().tolist(), "want_length": lens.numpy().tolist(),
                      "got_ids": out["token_ids"].tolist(), "got_length": out["token_length"].tolist(),
                      "saved_ids": served["token_ids"].numpy().tolist(),
                      "saved_length": served["token_length"].numpy().tolist()})
    return {"ops": sorted({d["op_name"] for d in interp._get_ops_details()}), "cases": cases}


def main(path):
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = check(*convert(tmp))
    except Exception:  # reported in the JSON, failed in the test
        result = {"error": traceback.format_exc()[-3000:]}
    with open(path, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
