"""TFLite conversion in its own process (the converter can crash, e.g. int8 PTQ of rolled RNNs).

    python -m export._tflite_worker JOB_DIR

JOB_DIR holds saved_model/ (endpoint "serve", fixed batch-1 shapes), job.json (precision,
allow_select_tf_ops, frontend_scope) and, for int8, representative.npz (one array per input, first
axis = samples). Writes model.tflite, or error.txt, into JOB_DIR.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def frontend_nodes(calibrated: bytes, scope: str, float_outputs=()) -> list[str]:
    """Names of the op outputs inside the frontend layer's name scope, plus the tensors behind the
    signature outputs named in `float_outputs` (a streaming model's frontend states, whose tensors
    carry the output's name instead of their scope): all kept float under int8."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=calibrated,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    names = {d["index"]: d["name"] for d in interp.get_tensor_details()}
    nodes = set()
    for op in interp._get_ops_details():
        for i in op["outputs"]:
            if f"/{scope}" in names.get(i, "") or names.get(i, "").startswith(f"{scope}"):
                nodes.add(names[i])
    for signature in interp._get_full_signature_list().values():
        for output, index in signature["outputs"].items():
            if output in float_outputs:
                nodes.add(names[index])
    return sorted(nodes)


def without_frontend_statistics(calibrated: bytes, frontend: set[str]) -> bytes:
    """The calibrated model with the min/max statistics of the frontend's internal tensors removed
    (tensors whose every consumer is a frontend op; the frontend's output keeps them, the body's
    input quantization needs them). The denylist alone did not keep a waveform that feeds several
    slices (a frontend traced piece by piece) in float: the quantizer still gave it an int8 copy."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(calibrated), 0))
    sg = model.subgraphs[0]
    name = {i: (t.name.decode() if isinstance(t.name, bytes) else str(t.name)) for i, t in enumerate(sg.tensors)}
    consumers = {}
    for op in sg.operators or []:
        outside = not any(name[o] in frontend for o in op.outputs)
        for i in op.inputs:
            if i >= 0:
                consumers.setdefault(i, []).append(outside)
    for i, tensor in enumerate(sg.tensors):
        q = tensor.quantization
        if consumers.get(i) and not any(consumers[i]) and i not in set(sg.outputs) and q is not None:
            q.min, q.max = None, None
    builder = flatbuffers.Builder(len(calibrated))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def convert(job_dir: str) -> bytes:
    import numpy as np
    import tensorflow as tf

    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    conv = tf.lite.TFLiteConverter.from_saved_model(os.path.join(job_dir, "saved_model"), signature_keys=["serve"])
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if job["allow_select_tf_ops"]:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
    precision = job["precision"]
    model = None
    if precision == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision == "int8":
        data = np.load(os.path.join(job_dir, "representative.npz"))
        names = job["input_names"]
        if job.get("rolled"):
            # TF's calibrator segfaults on WHILE loops (rolled RNNs): convert float, calibrate here
            from export.calibration import calibrate

            conv.target_spec.supported_ops = ops
            model = calibrate(conv.convert(), {n: data[n] for n in names})
        else:
            def representative():
                for i in range(len(data[names[0]])):
                    yield {n: data[n][i:i + 1] for n in names}

            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = representative
            ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8] + ops
            conv._experimental_calibrate_only = True  # calibrate, then quantize all but the frontend
    if model is None:
        conv.target_spec.supported_ops = ops
        model = conv.convert()
    if precision == "int8":
        from tensorflow.lite.python import convert as lite_convert

        deny = frontend_nodes(model, job["frontend_scope"], job.get("float_outputs", ())) if job["frontend_scope"] else []
        with open(os.path.join(job_dir, "denylist.json"), "w") as f:
            json.dump(deny, f)
        if deny:
            model = without_frontend_statistics(model, set(deny))
        model = lite_convert.mlir_quantize(model, fully_quantize=False, denylisted_nodes=deny or None,
                                           disable_per_channel=not job.get("per_channel", True))
    return model


def main(job_dir: str) -> int:
    try:
        model = convert(job_dir)
    except Exception:  # the parent turns this into an ExportError with the traceback's tail
        with open(os.path.join(job_dir, "error.txt"), "w") as f:
            f.write(traceback.format_exc())
        return 1
    with open(os.path.join(job_dir, "model.tflite"), "wb") as f:
        f.write(model)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
