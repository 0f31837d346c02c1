"""Model size and compute: parameter counts and multiply-accumulates (MACs) per example.

MACs count the multiply-accumulates of the matrix products and convolutions of one example
(batch size 1): Dense, EinsumDense, Conv1D/2D/3D (and transposed), DepthwiseConv1D/2D,
SeparableConv1D/2D, SimpleRNN/GRU/LSTM over their time steps (Bidirectional counts both
directions, TimeDistributed its steps), Dot and Attention matmuls, MultiHeadAttention, and
`keras.ops.matmul` nodes in functional graphs. BatchNormalization counts 0 (it folds into the
preceding layer at export); LayerNormalization/GroupNormalization count one MAC per output element
(their scale). Element-wise work (activations, gates, pooling, additions, biases) is not counted.

The walk follows the functional graph (nested functional/Sequential models are recursed into).
A layer with weights that no rule covers raises ConfigError instead of counting 0; a custom layer
can provide `count_macs(input_shapes, output_shapes) -> int` (shapes without the batch axis).
"""

from __future__ import annotations

import math

import keras

from zoo.errors import ConfigError


def count_params(model) -> int:
    """Trainable + non-trainable parameters (shared variables counted once)."""
    if not getattr(model, "built", False):
        raise ConfigError(
            f"cannot count the parameters of {model.name!r}: it is not built",
            received="an unbuilt model",
            expected="a built model",
            fix="call the model on an input or build it with keras.Input first",
        )
    seen = {}
    for weight in model.weights:
        seen[id(weight)] = weight
    return int(sum(math.prod(w.shape) for w in seen.values()))


def count_macs(model) -> int:
    """Multiply-accumulates for one example through `model` (see the module docstring)."""
    return int(_graph_macs(model))


def _graph_nodes(model):
    if isinstance(model, keras.Sequential):
        functional = getattr(model, "_functional", None)
        if functional is None:
            raise ConfigError(
                f"cannot count MACs of Sequential {model.name!r}: it has no graph yet",
                received="a Sequential model built without an Input",
                expected="a Sequential model that starts with keras.Input(shape=...)",
                fix="add keras.Input(shape=...) as its first layer",
            )
        model = functional
    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:
        return None
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _graph_macs(model) -> int:
    nodes = _graph_nodes(model)
    if nodes is None:
        if model.weights:
            raise ConfigError(
                f"cannot count MACs of subclassed model {model.name!r} ({type(model).__name__})",
                received="a model without a functional graph",
                expected="a functional or Sequential model",
                fix="build it functionally (keras.Input -> layers -> keras.Model)",
            )
        return 0
    total = 0
    for node in nodes:
        op = node.operation
        if isinstance(op, keras.layers.InputLayer) or node.is_input:
            continue
        ins = [_per_example(t.shape) for t in node.input_tensors]
        outs = [_per_example(t.shape) for t in node.output_tensors]
        total += _op_macs(op, ins, outs, node)
    return total


def _per_example(shape):
    return tuple(shape[1:])


def _known(shape, op, what="input"):
    if any(d is None for d in shape):
        raise ConfigError(
            f"cannot count MACs of {op.name!r} ({type(op).__name__}): its {what} shape has unknown sizes",
            received=shape,
            expected="fixed sizes (MACs depend on the length)",
            fix="build the model with fixed input shapes, e.g. keras.Input(shape=(frames, features))",
        )
    return shape


def _op_macs(op, ins, outs, node=None) -> int:
    L = keras.layers
    name = type(op).__name__
    if isinstance(op, keras.Model):
        return _graph_macs(op)
    if callable(getattr(op, "count_macs", None)):
        return int(op.count_macs(ins, outs))
    if isinstance(op, L.Dense):
        x = _known(ins[0], op)
        return math.prod(x[:-1]) * x[-1] * op.units
    if isinstance(op, L.EinsumDense):
        return _einsum_dense_macs(op, _known(ins[0], op))
    if isinstance(op, (L.SeparableConv1D, L.SeparableConv2D)):
        cin = _known(ins[0], op)[_channel_axis(op)]
        positions = _positions(op, _known(outs[0], op, "output"))
        mult = op.depth_multiplier
        return positions * cin * mult * (math.prod(op.kernel_size) + op.filters)
    if isinstance(op, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        cin = _known(ins[0], op)[_channel_axis(op)]
        positions = _positions(op, _known(outs[0], op, "output"))
        return positions * cin * op.depth_multiplier * math.prod(op.kernel_size)
    if isinstance(op, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        x = _known(ins[0], op)
        cin = x[_channel_axis(op)]
        return _positions(op, x) * cin * math.prod(op.kernel_size) * op.filters // getattr(op, "groups", 1)
    if isinstance(op, (L.Conv1D, L.Conv2D, L.Conv3D)):
        cin = _known(ins[0], op)[_channel_axis(op)]
        positions = _positions(op, _known(outs[0], op, "output"))
        return positions * math.prod(op.kernel_size) * cin * op.filters // getattr(op, "groups", 1)
    if isinstance(op, L.BatchNormalization):
        return 0  # folds into the previous layer's weights
    if isinstance(op, (L.LayerNormalization, L.GroupNormalization)):
        return math.prod(_known(outs[0], op, "output"))
    if isinstance(op, L.Bidirectional):
        return _rnn_macs(op.forward_layer, ins[0]) + _rnn_macs(op.backward_layer, ins[0])
    if isinstance(op, L.RNN):
        return _rnn_macs(op, ins[0])
    if isinstance(op, L.TimeDistributed):
        x = _known(ins[0], op)
        inner_out = _per_example(op.layer.compute_output_shape((None,) + tuple(x[1:])))
        return x[0] * _op_macs(op.layer, [tuple(x[1:])], [inner_out])
    if isinstance(op, L.Dot):
        # contraction size times output size
        a = _known(ins[0], op)
        axis = op.axes[0] if isinstance(op.axes, (list, tuple)) else op.axes
        size = a[axis] if axis < 0 else a[axis - 1]  # Dot's axes count the batch axis
        return size * math.prod(_known(outs[0], op, "output"))
    if isinstance(op, L.Attention):
        if op.score_mode != "dot":
            raise _uncountable(op, "Attention with score_mode='concat'")
        q, v = _known(ins[0], op), _known(ins[1], op)
        k = _known(ins[2], op) if len(ins) > 2 else v
        return q[0] * k[0] * q[-1] + q[0] * v[0] * v[-1]
    if isinstance(op, L.MultiHeadAttention):
        return _mha_macs(op, node)
    if name == "Matmul":  # keras.ops.matmul in a functional graph
        a = _known(ins[0], op)
        return math.prod(_known(outs[0], op, "output")) * a[-1]
    if isinstance(op, L.Embedding):
        return 0  # a table lookup
    if getattr(op, "weights", None):
        raise _uncountable(op, name)
    return 0


def _uncountable(op, what):
    return ConfigError(
        f"cannot count MACs of layer {op.name!r}: no rule for {what}",
        received=type(op).__name__,
        expected="a layer type listed in zoo.metrics.complexity, or a layer with count_macs()",
        fix="add a rule to zoo/metrics/complexity.py or give the layer a "
        "count_macs(input_shapes, output_shapes) method",
    )


def _channel_axis(op):
    return 0 if getattr(op, "data_format", "channels_last") == "channels_first" else -1


def _positions(op, shape):
    """Spatial positions of a conv input/output (per example)."""
    if getattr(op, "data_format", "channels_last") == "channels_first":
        return math.prod(shape[1:])
    return math.prod(shape[:-1])


def _rnn_macs(layer, x):
    x = _known(x, layer)
    steps, features = x[0], x[-1]
    cell = layer.cell
    units = cell.units
    gates = {"SimpleRNNCell": 1, "GRUCell": 3, "LSTMCell": 4}.get(type(cell).__name__)
    if gates is None:
        raise _uncountable(layer, f"RNN cell {type(cell).__name__}")
    return steps * gates * units * (features + units)


def _einsum_dense_macs(op, x):
    lhs, out_spec = op.equation.split("->")
    in_spec, kernel_spec = lhs.split(",")
    sizes = {}
    for spec, shape in ((in_spec, (None,) + tuple(x)), (kernel_spec, tuple(op.kernel.shape))):
        if "..." in spec:
            raise _uncountable(op, "EinsumDense with an ellipsis equation")
        for letter, dim in zip(spec, shape):
            if dim is not None:
                sizes[letter] = dim
    letters = set(in_spec) | set(kernel_spec) | set(out_spec)
    batch = in_spec[0]
    return math.prod(sizes[c] for c in letters if c != batch and c in sizes)


def _mha_macs(op, node):
    if node is None:
        raise _uncountable(op, "MultiHeadAttention outside a functional graph")
    args = list(node.arguments.args)
    kwargs = node.arguments.kwargs
    query = kwargs.get("query", args[0] if args else None)
    value = kwargs.get("value", args[1] if len(args) > 1 else None)
    key = kwargs.get("key", args[2] if len(args) > 2 else None)
    key = value if key is None else key
    q, v, k = (_known(_per_example(t.shape), op) for t in (query, value, key))
    heads, dk, dv = op.num_heads, op.key_dim, op.value_dim or op.key_dim
    tq, tv = math.prod(q[:-1]), math.prod(v[:-1])
    out_dim = op._output_dense.kernel.shape[-1]
    projections = tq * q[-1] * heads * dk + tv * k[-1] * heads * dk + tv * v[-1] * heads * dv
    attention = heads * tq * tv * (dk + dv)
    return projections + attention + tq * heads * dv * out_dim
