"""TFLite export: float32, float16, dynamic-range and int8, builtin ops only unless asked otherwise.

Path: Task -> keras.export.ExportArchive SavedModel with one "serve" endpoint at fixed batch-1
shapes -> tf.lite.TFLiteConverter.from_saved_model in a subprocess (a converter crash becomes an
ExportError, not a dead process). Measured on TF 2.21 (DESIGN.md 5):
- Whole-clip RNNs stay rolled (one WHILE loop per recurrence): an unrolled graph costs a few ops
  per gate per step, and at int8 its structure outweighs the weights (trained CRNN: float32 327 ->
  241 KB rolled; int8 284 KB unrolled). TF's int8 calibrator segfaults on WHILE loops, so rolled
  models are calibrated by export.calibration. Streaming variants run one hop per call: their
  recurrences are rebuilt with unroll=True (same weights; no loop left).
- int8 keeps the spectral frontend in float: the model is calibrated, then quantized with every op
  in the frontend's name scope denylisted (mlir_quantize denylisted_nodes), so STFT/RFFT2D, the mel
  matmul and the log stay float32 and the body (convs, RNN, dense) runs int8. Quantizing the
  frontend as well (the converter's default) feeds int8 waveforms into the FFT. The frontend's
  internal tensors also lose their calibration statistics before quantizing: the denylist alone let
  the quantizer give a waveform read by several slices (the pieces below) an int8 copy.
- A fixed-length frontend is traced in pieces of at most FRONTEND_FRAMES_PER_CHUNK frames
  (frame_chunking), which bounds the arena's peak activations (docs/deployment.md).
- dynamic-range quantization stores weights >= 1024 elements as int8 and quantizes activations on
  the fly; the converter offers no denylist for it, so it also touches the mel matmul: the parity
  gate (task accuracy) judges whether that is acceptable for a given model.
- Select-TF (Flex) ops only with allow_select_tf_ops=True, with a warning: ai-edge-litert cannot run
  them, only a TFLite build linked with the Flex delegate can.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from zoo.errors import ExportError

PRECISIONS = ("float32", "float16", "dynamic", "int8")
SIGNATURE = "serve"
# Spectral frames per piece (at most) when a fixed-length input is traced for TFLite: the arena then
# holds one piece's frames and DFT, not the whole clip's. Int8 DS-CNN, 1 s clip (49 frames, 4 pieces):
# peak activations 245 -> 130 KB for +14 KB of file: file plus arena 203 KB, under 256 KB.
FRONTEND_FRAMES_PER_CHUNK = 16


def has_rolled_rnn(task) -> bool:
    return task.backbone.get_config().get("unroll", True) is False


def unrolled(task):
    """The task itself, or a clone with unrolled recurrences (same weights) when it has RNNs."""
    if not has_rolled_rnn(task):
        return task
    full = task.get_config()
    full["backbone"]["config"]["unroll"] = True
    clone = type(task).from_config(full)
    clone.set_weights(task.get_weights())
    if hasattr(task, "preset"):
        clone.preset = task.preset
    return clone


@contextlib.contextmanager
def frame_chunking(task, frames_per_chunk: int | None = None):
    """While tracing inside this block, every STFT in `task` (and the log-mel around it) transforms
    a static-length input `frames_per_chunk` frames at a time."""
    from zoo.frontends.stft import STFT

    frames_per_chunk = FRONTEND_FRAMES_PER_CHUNK if frames_per_chunk is None else frames_per_chunk
    layers = [layer for layer in task._flatten_layers(include_self=False, recursive=True) if isinstance(layer, STFT)]
    before = [layer.frames_per_chunk for layer in layers]
    for layer in layers:
        layer.frames_per_chunk = frames_per_chunk
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            layer.frames_per_chunk = value


def representative_stream_inputs(streamer, waveforms, max_samples: int = 400, seed: int = 0) -> dict:
    """Calibration data for a streaming model: (audio, state) pairs met while streaming `waveforms`.

    A sliding-window model's ring buffer starts as digital silence (log-mel ~ -13.8), a value a
    running stream never holds again; calibrating on those first hops stretches the body's input
    range and costs int8 accuracy, so only hops whose window is full of audio are kept.
    """
    waveforms = np.asarray(waveforms, np.float32)
    state = streamer.initial_state(waveforms.shape[0])
    step = __import__("tensorflow").function(streamer.__call__)
    rows = {name: [] for name in ["audio", *state]}
    hop = streamer.hop_samples
    for k in range(waveforms.shape[1] // hop):
        audio = waveforms[:, k * hop:(k + 1) * hop]
        for name, value in [("audio", audio), *state.items()]:
            rows[name].append(np.asarray(value))
        out = step(audio, **state)
        state = {name: out[name].numpy() for name in state}
    skip = getattr(streamer, "num_frames", 0)  # sliding window: hops until the ring holds only audio
    if len(rows["audio"]) > skip:
        rows = {name: v[skip:] for name, v in rows.items()}
    data = {name: np.concatenate(v) for name, v in rows.items()}
    n = len(data["audio"])
    pick = np.sort(np.random.default_rng(seed).choice(n, size=min(n, max_samples), replace=False))
    return {name: v[pick] for name, v in data.items()}


def _write_job(task, job: Path, precision, representative, streaming, allow_select_tf_ops, per_channel):
    with frame_chunking(task):  # the endpoints are traced here
        _write_job_traced(task, job, precision, representative, streaming, allow_select_tf_ops, per_channel)


def _write_job_traced(task, job, precision, representative, streaming, allow_select_tf_ops, per_channel):
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    # not archive.track(): endpoints save the variables they read, once (export/saved_model.py)
    if streaming:
        from export.streaming import make_streamer

        streamer = make_streamer(task)
        spec = streamer.input_signature(batch_size=1)
        names = list(spec)

        def serve(*args):
            return streamer(**dict(zip(names, args)))

        archive.add_endpoint(SIGNATURE, serve, input_signature=list(spec.values()))
    else:
        names = ["waveform"]

        def serve(waveform):
            return {"scores": task(waveform, training=False)}

        archive.add_endpoint(SIGNATURE, serve, input_signature=[
            tf.TensorSpec([1, task.clip_samples], tf.float32, name="waveform")])
    archive.write_out(str(job / "saved_model"), verbose=False)
    if precision == "int8":
        if representative is None:
            raise ExportError("int8 conversion needs representative data for calibration",
                              expected="representative=float32 [N, clip_samples] waveforms (N ~ 100-500)",
                              fix="pass training.pipeline.representative_waveforms(manifest, 'train', 200, seed=0)")
        if streaming:
            data = representative_stream_inputs(streamer, representative)
        else:
            data = {"waveform": np.asarray(representative, np.float32).reshape(-1, task.clip_samples)}
        np.savez(job / "representative.npz", **data)
    with open(job / "job.json", "w") as f:
        json.dump({"precision": precision, "allow_select_tf_ops": bool(allow_select_tf_ops),
                   "frontend_scope": task.frontend.name, "input_names": names,
                   "float_outputs": list(streamer.float_states) if streaming else [],
                   "rolled": has_rolled_rnn(task),
                   "per_channel": bool(per_channel)}, f)


def run_converter_job(job: Path, what: str, timeout_s: float, fix: str) -> bytes:
    """Run export._tflite_worker on a prepared job folder (saved_model/ + job.json) in a subprocess,
    so a converter crash becomes an ExportError; the .tflite bytes."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run([sys.executable, "-m", "export._tflite_worker", str(job)], env=env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ExportError(f"TFLite conversion of {what} ran past {timeout_s:.0f} s",
                          fix="raise timeout_s or convert a smaller model") from None
    out = job / "model.tflite"
    if proc.returncode != 0 or not out.exists():
        err = (job / "error.txt").read_text() if (job / "error.txt").exists() else proc.stderr
        how = "crashed" if proc.returncode < 0 else "failed"
        raise ExportError(f"the TFLite converter {how} converting {what}"
                          + (f" (signal {-proc.returncode})" if proc.returncode < 0 else ""),
                          received=err.strip()[-1500:] or f"exit status {proc.returncode}", fix=fix)
    return out.read_bytes()


def convert(task, precision: str = "float32", *, representative=None, streaming: bool = False,
            allow_select_tf_ops: bool = False, timeout_s: float = 900.0, per_channel: bool = True,
            unroll: bool = False) -> bytes:
    """Convert `task` to a .tflite flatbuffer (batch 1, fixed shapes, signature "serve").

    Whole-clip models take `waveform` f32[1, clip_samples] and return `scores`; streaming models
    (streaming=True) take `audio` f32[1, hop] plus the state tensors of export.streaming and return
    `scores`, `label_ids` and the next state under the same names. per_channel (int8 only):
    per-channel weight scales (default; most accurate) or one scale per tensor (smaller file:
    no per-channel scale/zero-point tables; the accuracy gate judges the loss). unroll: RNNs as
    fixed steps instead of WHILE loops (larger; faster for some models, e.g. the bidirectional
    Att-RNN: docs/benchmarks.md, export-kws); streaming models are always unrolled.
    """
    if precision not in PRECISIONS:
        raise ExportError("unknown TFLite precision", received=precision, expected=" | ".join(PRECISIONS))
    if allow_select_tf_ops:
        warnings.warn("allow_select_tf_ops=True: the model may contain Select-TF (Flex) ops, which "
                      "ai-edge-litert and microcontroller runtimes cannot run", stacklevel=2)
    if streaming or unroll:
        task = unrolled(task)
    with tempfile.TemporaryDirectory(prefix="zoo-tflite-") as tmp:
        job = Path(tmp)
        _write_job(task, job, precision, representative, streaming, allow_select_tf_ops, per_channel)
        content = run_converter_job(job, f"{task.name} to {precision}", timeout_s,
                                    fix="try another precision, or allow_select_tf_ops=True for ops without a TFLite "
                                        "builtin")
    content = merge_duplicate_constants(content)
    flex = [op for op in model_ops(content) if op.startswith("Flex")]
    if flex and not allow_select_tf_ops:
        raise ExportError("the TFLite model needs Select-TF ops", received=sorted(set(flex)),
                          expected="builtin ops only", fix="pass allow_select_tf_ops=True (not runnable in "
                          "ai-edge-litert) or replace those ops")
    return content


# ----------------------------------------------------------------------------- inspection
def _flatbuffer(content: bytes):
    from tensorflow.lite.python import schema_py_generated as schema

    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(content), 0))


def _pack(model, size_hint: int) -> bytes:
    """A ModelT (from _flatbuffer, edited) back to .tflite bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(size_hint)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def model_ops(content: bytes) -> list[str]:
    """Op names of every operator in every subgraph (custom ops by their custom code, e.g. Flex*)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = _flatbuffer(content)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode))
        else:
            codes.append(names.get(builtin, str(builtin)))
    return [codes[op.opcodeIndex] for sg in model.subgraphs for op in (sg.operators or [])]


_DTYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 16: 4}  # schema TensorType


def strip_debug_names(content: bytes) -> bytes:
    """The same model without the names of its internal tensors (graph-scope debug strings such as
    `model_1/block4_dw_bn_1/batchnorm/mul`): subgraph inputs/outputs and signature names stay, so
    signature runners and the numbers are unchanged. Unrolled RNN graphs shrink 2-3x; op names
    are then gone from op_details, so inspect a model before stripping it."""
    model = _flatbuffer(content)
    for sg in model.subgraphs:
        keep = set(sg.inputs) | set(sg.outputs)
        for i, tensor in enumerate(sg.tensors):
            if i not in keep:
                tensor.name = b""
    return _pack(model, len(content))


def _constant_key(tensor):
    """What makes two constant tensors interchangeable: buffer, type, shape and quantization."""
    q = tensor.quantization

    def arr(v):
        return None if v is None else tuple(np.asarray(v).ravel().tolist())

    quant = None if q is None else (arr(q.scale), arr(q.zeroPoint), arr(q.min), arr(q.max), q.quantizedDimension,
                                    q.detailsType)
    return (tensor.buffer, tensor.type, arr(tensor.shape), arr(tensor.shapeSignature), quant)


def merge_duplicate_constants(content: bytes) -> bytes:
    """The same model with identical constant tensors merged into one. An unrolled RNN reads the same
    weights at every step; the int8 quantizer gives each step's op its own tensor of that buffer,
    each with a copy of the per-channel scale and int64 zero-point tables (12 bytes per channel).
    Lossless: ops read the same buffer with the same quantization. Trained CRNN int8: 409 -> 284 KB
    (docs/benchmarks.md, export-kws)."""
    model = _flatbuffer(content)
    changed = False
    for index, sg in enumerate(model.subgraphs):
        io = set(sg.inputs) | set(sg.outputs)
        first, remap = {}, {}
        for i, t in enumerate(sg.tensors):
            data = model.buffers[t.buffer].data if t.buffer else None
            if i in io or t.isVariable or t.sparsity is not None or data is None or not len(data):
                continue
            key = _constant_key(t)
            if key in first:
                remap[i] = first[key]
            else:
                first[key] = i
        if not remap:
            continue
        changed = True
        keep = [i for i in range(len(sg.tensors)) if i not in remap]
        position = {old: new for new, old in enumerate(keep)}

        def new_index(i):
            return -1 if i < 0 else position[remap.get(i, i)]

        for op in sg.operators or []:
            op.inputs = [new_index(i) for i in op.inputs]
            op.outputs = [new_index(i) for i in op.outputs]
            if op.intermediates is not None:
                op.intermediates = [new_index(i) for i in op.intermediates]
        sg.inputs = [new_index(i) for i in sg.inputs]
        sg.outputs = [new_index(i) for i in sg.outputs]
        sg.tensors = [sg.tensors[i] for i in keep]
        for signature in model.signatureDefs or []:
            if signature.subgraphIndex == index:
                for t in list(signature.inputs or []) + list(signature.outputs or []):
                    t.tensorIndex = new_index(t.tensorIndex)
    if not changed:
        return content
    return _pack(model, len(content))


def memory_report(content: bytes) -> dict:
    """File size and activation memory: `activation_sum` (every non-constant tensor), `activation_peak`
    (largest set of simultaneously live tensors in execution order: what an ideal arena planner
    needs; real arenas add alignment and fragmentation). Subgraphs (a rolled RNN's WHILE cond and
    body) have arenas of their own, allocated beside the main one: their peaks are added."""
    model = _flatbuffer(content)
    totals = {"file_bytes": len(content), "constant_bytes": 0, "activation_sum": 0, "activation_peak": 0}
    for sg in model.subgraphs:
        for key, value in _subgraph_memory(model, sg).items():
            totals[key] += value
    return totals


def _subgraph_memory(model, sg) -> dict:
    const = {i for i, t in enumerate(sg.tensors) if t.buffer and model.buffers[t.buffer].data is not None
             and len(model.buffers[t.buffer].data)}

    def size(i):
        t = sg.tensors[i]
        n = int(np.prod([max(int(d), 1) for d in t.shape])) if t.shape is not None and len(t.shape) else 1
        return n * _DTYPE_BYTES.get(t.type, 4)

    ops = sg.operators or []
    first, last = {}, {}
    for i in list(sg.inputs):
        first[i] = -1
    for k, op in enumerate(ops):
        for i in list(op.outputs) + list(op.intermediates if op.intermediates is not None else []):
            first.setdefault(i, k)
        for i in op.inputs:
            if i >= 0:
                last[i] = k
    for i in sg.outputs:
        last[i] = len(ops)
    live = [i for i in first if i not in const]
    peak = 0
    for k in range(-1, len(ops)):
        peak = max(peak, sum(size(i) for i in live if first[i] <= k <= last.get(i, first[i])))
    return {"constant_bytes": sum(size(i) for i in const), "activation_sum": sum(size(i) for i in live),
            "activation_peak": peak}


def interpreter(content: bytes, num_threads: int = 1, xnnpack: bool = True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kind = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(model_content=content, num_threads=num_threads, experimental_op_resolver_type=kind)


def op_details(content: bytes) -> list[dict]:
    """Per op (reference kernels, no delegate): name, input dtypes, output dtypes and tensor names."""
    interp = interpreter(content, xnnpack=False)
    interp.allocate_tensors()
    tensors = {d["index"]: d for d in interp.get_tensor_details()}
    out = []
    for op in interp._get_ops_details():
        out.append({"op": op["op_name"],
                    "inputs": [np.dtype(tensors[i]["dtype"]).name for i in op["inputs"] if i >= 0],
                    "outputs": [np.dtype(tensors[i]["dtype"]).name for i in op["outputs"]],
                    "names": [tensors[i]["name"] for i in op["outputs"]]})
    return out


class Runner:
    """Batch-1 runner of a converted model's "serve" signature with ai-edge-litert."""

    def __init__(self, content: bytes, num_threads: int = 1, xnnpack: bool = True):
        self.xnnpack = xnnpack
        try:
            self._open(content, num_threads, xnnpack)
        except RuntimeError:
            if not xnnpack:
                raise
            # XNNPACK cannot prepare some very large unrolled graphs (int8 Att-RNN); the reference
            # kernels run them, as a device runtime without that delegate would.
            self.xnnpack = False
            self._open(content, num_threads, False)

    def _open(self, content, num_threads, xnnpack):
        self.interpreter = interpreter(content, num_threads, xnnpack)
        self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        zeros = {name: np.zeros(d["shape"], d["dtype"]) for name, d in self.runner.get_input_details().items()}
        self.runner(**zeros)  # delegates prepare on the first invoke: fail here, not mid-benchmark

    def __call__(self, **inputs) -> dict:
        return self.runner(**inputs)

    def scores(self, waveforms) -> np.ndarray:
        """Whole-clip models: [N, clip] -> [N, C], one row per invoke."""
        return np.concatenate([self.runner(waveform=np.asarray(w, np.float32)[None])["scores"]
                               for w in waveforms])

    def stream(self, waveform, initial_state: dict) -> np.ndarray:
        """Streaming models: feed one [T] waveform hop by hop; scores [hops, C]."""
        state = {k: np.asarray(v) for k, v in initial_state.items()}
        hop = int(self.runner.get_input_details()["audio"]["shape"][-1])
        outs = []
        for k in range(len(waveform) // hop):
            res = self.runner(audio=np.asarray(waveform[k * hop:(k + 1) * hop], np.float32)[None], **state)
            state = {name: res[name] for name in state}
            outs.append(res["scores"][0])
        return np.stack(outs)
