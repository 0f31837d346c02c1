"""Activation ranges for int8 post-training quantization of models with WHILE loops (rolled RNNs).

TensorFlow 2.21's calibrator segfaults on any rolled Keras 3 RNN, down to a SimpleRNN(8) over 50
steps (tensorflow/tensorflow#75140); unrolling instead costs an op per gate per step, and the
unrolled graph then outweighs the int8 weights (docs/deployment.md). This calibrator runs the float
model in ai-edge-litert and records every float32 activation's min and max:

- the main subgraph is invoked whole, with every tensor preserved;
- each WHILE loop is then replayed step by step from its recorded inputs, invoking its cond and
  body subgraphs directly, so every step's tensors are read, not only the last step's (which is
  all that a whole-model invoke leaves behind).

The result is the float model with min/max in each tensor's quantization parameters, as the
converter's `_experimental_calibrate_only` writes it, ready for mlir_quantize."""

from __future__ import annotations

import numpy as np


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema

    return schema


def _invoke(interp, subgraph: int, inputs, values, outputs) -> list:
    """Run one subgraph of `interp` on `values` (its inputs, in order); its outputs, in order. Inputs the
    subgraph never reads are left unallocated by the runtime: they are skipped, and an output that is
    such an input passed through keeps its value."""
    wrapper = interp._interpreter  # the signature runner API reaches only signatures
    for index, value in zip(inputs, values):
        wrapper.ResizeInputTensor(index, np.array(value.shape, np.int32), False, subgraph)
    wrapper.AllocateTensors(subgraph)
    for index, value in zip(inputs, values):
        try:
            wrapper.SetTensor(index, value, subgraph)
        except ValueError:
            pass
    wrapper.Invoke(subgraph)
    given = dict(zip(inputs, values))
    return [given[i] if i in given else wrapper.GetTensor(i, subgraph) for i in outputs]


def _while_loops(model):
    """(op, cond subgraph, body subgraph) for every WHILE op, main subgraph first."""
    schema = _schema()
    found = []
    for s, sg in enumerate(model.subgraphs):
        for op in sg.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.WHILE:
                found.append((s, op, op.builtinOptions.condSubgraphIndex, op.builtinOptions.bodySubgraphIndex))
    return found


class _Ranges:
    def __init__(self):
        self.low, self.high = {}, {}

    def add(self, key, value: np.ndarray) -> None:
        if value.dtype != np.float32 or value.size == 0:
            return
        lo, hi = float(value.min()), float(value.max())
        self.low[key] = min(lo, self.low.get(key, lo))
        self.high[key] = max(hi, self.high.get(key, hi))


def calibrate(content: bytes, samples: dict, signature: str = "serve") -> bytes:
    """`content` with min/max set on every float32 activation seen while running `samples`
    ({input name: array [N, ...]}, one invoke per row) through `signature`."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from export.tflite import _flatbuffer, _pack

    model = _flatbuffer(content)
    loops = _while_loops(model)
    if any(s != 0 for s, *_ in loops):
        raise NotImplementedError("nested WHILE loops: calibrate only loops of the main subgraph")
    def open_interpreter():
        return Interpreter(model_content=content, experimental_preserve_all_tensors=True,
                           experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)

    # Loops replay on an interpreter of their own: the WHILE kernel shares its tensors' memory with
    # its subgraphs, and invoking a subgraph on the interpreter that ran the loop crashed (Att-RNN).
    interp, loop_interp = open_interpreter(), open_interpreter()
    main = interp.get_signature_runner(signature)
    constant = [{i for i, t in enumerate(sg.tensors) if t.buffer and model.buffers[t.buffer].data is not None
                 and len(model.buffers[t.buffer].data)} for sg in model.subgraphs]
    ranges = _Ranges()

    def record(source, subgraph):
        for i in range(len(model.subgraphs[subgraph].tensors)):
            if i not in constant[subgraph]:
                try:
                    ranges.add((subgraph, i), source.get_tensor(i, subgraph))
                except ValueError:  # a tensor the runtime never allocated (unused)
                    pass

    names = list(samples)
    for row in range(len(samples[names[0]])):
        main(**{n: np.asarray(samples[n][row:row + 1]) for n in names})
        record(interp, 0)
        for _, op, cond, body in loops:
            values = [interp.get_tensor(i, 0) for i in op.inputs]
            cond_sg, body_sg = model.subgraphs[cond], model.subgraphs[body]
            for _ in range(1_000_000):
                if not np.asarray(_invoke(loop_interp, cond, cond_sg.inputs, values, cond_sg.outputs)[0]).all():
                    break
                values = _invoke(loop_interp, body, body_sg.inputs, values, body_sg.outputs)
                record(loop_interp, body)
            else:
                raise RuntimeError("a WHILE loop ran a million steps while calibrating")

    schema = _schema()
    for (subgraph, i), low in ranges.low.items():
        tensor = model.subgraphs[subgraph].tensors[i]
        q = tensor.quantization or schema.QuantizationParametersT()
        q.min, q.max = [low], [ranges.high[(subgraph, i)]]
        tensor.quantization = q
    return _pack(model, len(content))
