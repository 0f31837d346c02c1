import subprocess
import sys

import pytest
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from export.opcheck import check_graph_defs, check_saved_model, main
from zoo.errors import ExportError


def test_exported_model_uses_only_core_ops(crnn_saved_model):
    report = check_saved_model(crnn_saved_model)
    assert report.ok and report.offenders == {}
    # The frontend's FFT and the WAV decoder are in there and are core ops.
    assert {"RFFT", "DecodeWav", "CheckNumerics"} <= set(report.ops)
    assert len(report.functions) > 3


def test_py_function_is_flagged(tmp_path):
    class WithPython(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def f(self, x):
            return tf.py_function(lambda v: v * 2, [x], tf.float32)

    tf.saved_model.save(WithPython(), str(tmp_path))
    with pytest.raises(ExportError, match="EagerPyFunc"):
        check_saved_model(tmp_path)
    assert not check_saved_model(tmp_path, raise_on_error=False).ok
    assert main([str(tmp_path)]) == 1


def test_unregistered_custom_op_is_flagged():
    graph = graph_pb2.GraphDef()
    node = graph.node.add(name="x", op="Placeholder")
    node.attr["dtype"].type = tf.float32.as_datatype_enum
    fn = graph.library.function.add()
    fn.signature.name = "decode_mp3_fn"
    fn.node_def.add(name="dec", op="IO>AudioDecodeMP3")
    graph.node.add(name="call", op="decode_mp3_fn", input=["x"])  # a call of the library function: fine
    report = check_graph_defs([graph], raise_on_error=False)
    assert report.offenders == {"IO>AudioDecodeMP3": ["decode_mp3_fn"]}
    assert report.ops == {"IO>AudioDecodeMP3": 1, "Placeholder": 1}


def test_cli_exit_codes(crnn_saved_model, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "export.opcheck", str(crnn_saved_model)], capture_output=True,
                        text=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": "."})
    assert ok.returncode == 0 and "all registered core TensorFlow ops" in ok.stdout
    assert main([str(tmp_path)]) == 2  # not a SavedModel
