"""count_params / count_macs against hand-computed counts of small models."""

import keras
import pytest

from zoo.errors import ConfigError
from zoo.metrics.complexity import count_macs, count_params

L = keras.layers


def _model(input_shape, *layers):
    x = inp = keras.Input(input_shape)
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


@pytest.mark.parametrize(
    "input_shape, layer, expected",
    [
        ((10,), L.Dense(7), 10 * 7),
        ((5, 10), L.Dense(7), 5 * 10 * 7),  # applied per time step
        ((5, 10), L.EinsumDense("abc,cd->abd", output_shape=(None, 7)), 5 * 10 * 7),
        ((5, 10), L.TimeDistributed(L.Dense(7)), 5 * 10 * 7),
        ((10, 5), L.Conv1D(6, 3), 8 * 3 * 5 * 6),  # valid: 8 output steps
        ((10, 4), L.Conv1D(6, 3, groups=2), 8 * 3 * 2 * 6),  # each filter sees 4 / 2 channels
        ((8, 6, 3), L.Conv2D(4, (3, 2), strides=(1, 2), padding="same"), 8 * 3 * (3 * 2) * 3 * 4),
        ((8, 6, 3), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), 8 * 6 * 3 * 2 * 9),
        ((8, 6, 3), L.SeparableConv2D(5, 3, padding="same"), 8 * 6 * (3 * 9 + 3 * 5)),
        ((4, 4, 2), L.Conv2DTranspose(3, 2, strides=2), 4 * 4 * 2 * 4 * 3),  # per input position
        ((8, 6, 3), L.BatchNormalization(), 0),  # folded into the previous layer
        ((5, 6), L.LayerNormalization(), 5 * 6),
        ((7, 3), L.SimpleRNN(4), 7 * 4 * (3 + 4)),
        ((7, 3), L.GRU(4), 7 * 3 * 4 * (3 + 4)),
        ((7, 3), L.LSTM(4, return_sequences=True), 7 * 4 * 4 * (3 + 4)),
        ((7, 3), L.Bidirectional(L.LSTM(4)), 2 * 7 * 4 * 4 * (3 + 4)),
        ((7,), L.Embedding(20, 5), 0),
        ((8, 6, 3), L.MaxPooling2D(2), 0),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, L.Layer) else None,
)
def test_layer_macs(input_shape, layer, expected):
    assert count_macs(_model(input_shape, layer)) == expected


def test_stack_sums_layers_and_params_count_non_trainable():
    model = _model((10,), L.Dense(7, name="a"), L.BatchNormalization(name="bn"), L.ReLU(), L.Dense(2))
    assert count_macs(model) == 10 * 7 + 7 * 2
    # Dense 10x7+7, BN 4x7 (gamma, beta, moving mean, moving variance), Dense 7x2+2
    assert count_params(model) == 77 + 28 + 16


def test_dot_products_and_attention():
    seq = keras.Input((5, 4))
    query = keras.Input((4,))
    scores = L.Dot(axes=(2, 1))([seq, query])  # [B, 5]: 5 dot products of length 4
    context = L.Dot(axes=(1, 1))([scores, seq])  # [B, 4]: 4 sums over 5 steps
    assert count_macs(keras.Model([seq, query], context)) == 5 * 4 + 4 * 5

    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    out = L.Attention()([q, v])
    assert count_macs(keras.Model([q, v], out)) == 3 * 5 * 4 + 3 * 5 * 4

    a, b = keras.Input((3, 4)), keras.Input((4, 6))
    assert count_macs(keras.Model([a, b], keras.ops.matmul(a, b))) == 3 * 6 * 4


def test_multi_head_attention():
    q, v = keras.Input((3, 8)), keras.Input((5, 8))
    out = L.MultiHeadAttention(num_heads=2, key_dim=4)(q, v)
    projections = 3 * 8 * 2 * 4 + 5 * 8 * 2 * 4 + 5 * 8 * 2 * 4  # query, key, value
    attention = 2 * 3 * 5 * 4 * 2  # scores and weighted sum per head
    output = 3 * 2 * 4 * 8
    assert count_macs(keras.Model([q, v], out)) == projections + attention + output


def test_nested_and_sequential_models_are_recursed():
    inner = _model((10,), L.Dense(7))
    outer = _model((10,), inner, L.Dense(2))
    assert count_macs(outer) == 10 * 7 + 7 * 2
    seq = keras.Sequential([keras.Input((10,)), L.Dense(3), L.Dense(2)])
    assert count_macs(seq) == 10 * 3 + 3 * 2
    assert count_macs(_model((10,), seq)) == 36


def test_shared_layer_counts_every_call():
    dense = L.Dense(4)
    a, b = keras.Input((6,)), keras.Input((6,))
    model = keras.Model([a, b], L.Add()([dense(a), dense(b)]))
    assert count_macs(model) == 2 * 6 * 4
    assert count_params(model) == 6 * 4 + 4


class _Scale(L.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w


class _CountedScale(_Scale):
    def count_macs(self, input_shapes, output_shapes):
        return int(input_shapes[0][-1])


def test_unknown_layer_with_weights_raises_not_zero():
    with pytest.raises(ConfigError, match="cannot count MACs of layer 'mystery'.*_Scale"):
        count_macs(_model((5,), L.Dense(3), _Scale(name="mystery")))


def test_custom_layer_hook():
    assert count_macs(_model((5,), _CountedScale())) == 5


def test_variable_length_rnn_raises():
    with pytest.raises(ConfigError, match="unknown sizes"):
        count_macs(_model((None, 3), L.GRU(4)))


def test_unbuilt_model_raises():
    with pytest.raises(ConfigError, match="not built"):
        count_params(keras.Sequential([L.Dense(3)]))
    with pytest.raises(ConfigError, match="no graph"):
        count_macs(keras.Sequential([L.Dense(3)]))
