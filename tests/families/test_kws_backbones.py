"""Keyword-spotting backbones: contract, serialization, presets' size, and that they can learn."""

import inspect
import json
import re

import keras
import numpy as np
import pytest
from keras.src.utils.naming import to_snake_case

from zoo.errors import ConfigError
from zoo.families.recognition import kws_protocol as kws
from zoo.families.recognition.att_rnn import att_rnn_presets
from zoo.families.recognition.att_rnn.att_rnn_backbone import AttRNNBackbone
from zoo.families.recognition.cnn import cnn_presets
from zoo.families.recognition.cnn.cnn_backbone import CNNBackbone
from zoo.families.recognition.crnn import crnn_presets
from zoo.families.recognition.crnn.crnn_backbone import CRNNBackbone
from zoo.families.recognition.dnn import dnn_presets
from zoo.families.recognition.dnn.dnn_backbone import DNNBackbone
from zoo.families.recognition.ds_cnn import ds_cnn_presets
from zoo.families.recognition.ds_cnn.ds_cnn_backbone import DSCNNBackbone
from zoo.families.recognition.tc_resnet import tc_resnet_presets
from zoo.families.recognition.tc_resnet.tc_resnet_backbone import TCResNetBackbone
from zoo.metrics.complexity import count_macs, count_params

T, F = kws.KWS_NUM_FRAMES, kws.KWS_NUM_FEATURES
PRESET_MODULES = [dnn_presets, cnn_presets, ds_cnn_presets, crnn_presets, att_rnn_presets, tc_resnet_presets]
PRESETS = {p["name"]: p for m in PRESET_MODULES for p in m.PRESETS}
CLASSES = {c.__name__: c for c in (DNNBackbone, CNNBackbone, DSCNNBackbone, CRNNBackbone, AttRNNBackbone,
                                   TCResNetBackbone)}

# (class, kwargs, embedding size): every family, plus the variants the presets do not cover.
VARIANTS = {
    "dnn": (DNNBackbone, dict(hidden_units=[32, 16], time_pool=7, feature_pool=4), 16),
    "dnn_unpooled": (DNNBackbone, dict(num_frames=6, num_features=5, hidden_units=[8]), 8),
    "cnn_trad_fpool3": (CNNBackbone, dict(cnn_presets.TRAD_FPOOL3, conv_filters=[8, 8]), 128),
    "cnn_one_fstride4": (CNNBackbone, dict(cnn_presets.ONE_FSTRIDE4, conv_filters=[16]), 128),
    "ds_cnn": (DSCNNBackbone, dict(filters=16, num_blocks=2, first_strides=[2, 4]), 16),
    "crnn_gru_last": (CRNNBackbone, dict(rnn_units=16, dense_units=0), 16),
    "crnn_lstm_mean": (CRNNBackbone, dict(rnn_type="lstm", rnn_units=8, num_rnn_layers=1, pooling="mean"), 64),
    "att_rnn_lstm": (AttRNNBackbone, dict(rnn_units=8, dense_units=[16, 12]), 12),
    "att_rnn_gru_last": (AttRNNBackbone, dict(rnn_type="gru", rnn_units=8, query_frame="last", num_rnn_layers=1), 32),
    "tc_resnet8": (TCResNetBackbone, dict(), 48),
    "tc_resnet14_k1.5": (TCResNetBackbone, dict(blocks_per_stage=2, width_multiplier=1.5), 72),
}


def _build(variant, **overrides):
    cls, kwargs, _ = VARIANTS[variant]
    kwargs = {"num_frames": T, "num_features": F, **kwargs, **overrides}
    return cls(**kwargs)


def _features(n=3, frames=T, features=F, seed=0):
    return np.random.default_rng(seed).normal(size=(n, frames, features)).astype("float32")


def _randomize(model, seed=1):
    # Non-trivial BN statistics so that round trips compare more than fresh initial values.
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.uniform(0.5, 1.5, w.shape) if "variance" in v.path else
                        rng.normal(0, 0.2, w.shape)).astype("float32")
                       for v, w in zip(model.weights, model.get_weights())])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_contract(variant):
    model = _build(variant)
    cls, kwargs, dim = VARIANTS[variant]
    frames, features = kwargs.get("num_frames", T), kwargs.get("num_features", F)
    assert isinstance(model, keras.Model) and len(model.inputs) == 1 and len(model.outputs) == 1
    assert model.inputs[0].name == "features"
    assert tuple(model.input_shape) == (None, frames, features)
    assert model.inputs[0].dtype == "float32"
    assert tuple(model.output_shape) == (None, dim)
    out = np.asarray(model(_features(3, frames, features), training=False))
    assert out.shape == (3, dim) and out.dtype == np.float32 and np.all(np.isfinite(out))
    for layer in model.layers:  # readable names, no Keras auto-names like "conv2d_3"
        auto = to_snake_case(type(layer).__name__)
        assert not re.fullmatch(rf"{auto}(_\d+)?", layer.name), layer.name
    # every constructor argument is stored and returned by get_config
    args = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    assert args[:2] == ["num_frames", "num_features"]
    config = model.get_config()
    assert set(args) <= set(config)
    for name, value in kwargs.items():
        expected = [list(v) if isinstance(v, tuple) else v for v in value] if isinstance(value, list) else value
        assert config[name] == expected, name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_round_trip_and_save_load(variant, tmp_path):
    model = _build(variant)
    _randomize(model)
    x = _features(3, *model.input_shape[1:])
    expected = np.asarray(model(x, training=False))

    config = json.loads(json.dumps(model.get_config()))  # plain JSON types only
    clone = type(model).from_config(config)
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x, training=False)), expected)

    path = tmp_path / "backbone.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)


@pytest.mark.parametrize("cls, kwargs", [
    (CRNNBackbone, dict(rnn_type="gru", rnn_units=8)),
    (CRNNBackbone, dict(rnn_type="lstm", rnn_units=8, pooling="mean")),
    (AttRNNBackbone, dict(rnn_units=8)),
])
def test_unroll_gives_the_same_function(cls, kwargs):
    rolled = cls(T, F, **kwargs)
    unrolled = cls(T, F, unroll=True, **kwargs)
    _randomize(rolled)
    unrolled.set_weights(rolled.get_weights())
    x = _features()
    np.testing.assert_allclose(np.asarray(unrolled(x)), np.asarray(rolled(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: CNNBackbone(T, F, conv_kernel_sizes=[[60, 8], [10, 4]]), "conv layer 1 leaves an empty feature map"),
    (lambda: CNNBackbone(T, F, conv_filters=[8], conv_kernel_sizes=[[3, 3], [3, 3]]), "conv_kernel_sizes must be 1"),
    (lambda: DSCNNBackbone(T, F, first_strides=[2]), "first_strides must be two positive ints"),
    (lambda: DSCNNBackbone(T, F, dropout=1.0), r"dropout must be in \[0, 1\)"),
    (lambda: DNNBackbone(T, F, time_pool=64), "pooling is larger than the feature map"),
    (lambda: CRNNBackbone(T, F, rnn_type="transformer"), "rnn_type is unknown.*transformer"),
    (lambda: CRNNBackbone(T, F, pooling="max"), "pooling is unknown"),
    (lambda: AttRNNBackbone(T, F, query_frame="first"), "query_frame is unknown.*'middle', 'last'"),
    (lambda: TCResNetBackbone(T, "40"), "num_features must be a positive int.*received: 40"),
    (lambda: TCResNetBackbone(T, F, width_multiplier=0), "width_multiplier must be > 0"),
])
def test_bad_arguments_raise_config_error(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


# Intended size of each preset's backbone: (params low, high), (MACs low, high) per 1 s clip.
PRESET_BUDGETS = {
    "kws_dnn_small_synth": ((20e3, 80e3), (20e3, 200e3)),
    "kws_cnn_small_synth": ((20e3, 80e3), (1e6, 8e6)),
    "kws_dscnn_small_synth": ((20e3, 40e3), (2e6, 6e6)),
    "kws_dscnn_35_synth": ((20e3, 80e3), (2e6, 12e6)),
    "kws_crnn_small_synth": ((20e3, 80e3), (0.5e6, 3e6)),
    "kws_attrnn_small_synth": ((20e3, 80e3), (1e6, 4e6)),
    "kws_tcresnet8_synth": ((20e3, 80e3), (0.3e6, 2e6)),
}
PRESET_KEYS = {"name", "family", "task", "task_class", "description", "sample_rate", "frontend", "backbone",
               "task_config", "data", "training", "paper", "license"}


def test_every_preset_is_defined_once():
    names = [p["name"] for m in PRESET_MODULES for p in m.PRESETS]
    assert sorted(names) == sorted(PRESET_BUDGETS)


@pytest.mark.parametrize("name", sorted(PRESET_BUDGETS))
def test_preset(name):
    preset = PRESETS[name]
    assert set(preset) == PRESET_KEYS
    assert preset["task"] == "recognition" and preset["task_class"] == "AudioClassifier"
    assert preset["frontend"] == kws.KWS_LOGMEL and preset["sample_rate"] == kws.SAMPLE_RATE
    protocol = preset["data"]["protocol"]
    labels = {"kws12": kws.KWS12_LABELS, "kws35": kws.KWS35_LABELS}[protocol]
    assert preset["task_config"] == {"labels": labels, "clip_samples": kws.CLIP_SAMPLES}
    # Every training key is an experiment setting (a typo would otherwise be silently dropped).
    from dataclasses import fields

    from training.experiment import Experiment

    assert set(preset["training"]) <= {f.name for f in fields(Experiment)}
    assert {"epochs", "batch_size", "learning_rate", "weight_decay", "dropout",
            "time_budget_min"} <= set(preset["training"])
    assert set(preset["backbone"]) == {"class_name", "config"}
    config = preset["backbone"]["config"]
    assert (config["num_frames"], config["num_features"]) == (T, F)
    assert preset["training"]["dropout"] == config["dropout"]
    # The registered name resolves the class: Keras registers it as "zoo>ClassName".
    cls = keras.saving.get_registered_object("zoo>" + preset["backbone"]["class_name"])
    assert cls is CLASSES[preset["backbone"]["class_name"]]
    backbone = cls.from_config(json.loads(json.dumps(config)))
    assert preset["family"] in type(backbone).__module__.split(".")

    (p_low, p_high), (m_low, m_high) = PRESET_BUDGETS[name]
    params, macs = count_params(backbone), count_macs(backbone)
    assert p_low <= params <= p_high, params
    assert m_low <= macs <= m_high, macs


def test_ds_cnn_small_macs_by_hand():
    config = ds_cnn_presets.PRESETS[0]["backbone"]["config"]
    backbone = DSCNNBackbone(**config)
    positions = 25 * 10  # 'same' padding, strides (2, 4) on 49 x 40
    first = positions * 10 * 8 * 64
    blocks = 4 * positions * (3 * 3 * 64 + 64 * 64)
    assert count_macs(backbone) == first + blocks == 5_952_000
    # convs without bias; BN has 4 vectors of 64
    assert count_params(backbone) == 10 * 8 * 64 + 4 * (9 * 64 + 64 * 64) + 9 * 4 * 64


@pytest.mark.parametrize("cls, kwargs, epochs", [
    (DSCNNBackbone, dict(filters=16, num_blocks=2, first_strides=[2, 4]), 60),
    (CRNNBackbone, dict(conv_filters=8, rnn_units=24, num_rnn_layers=1, dense_units=0), 60),
])
def test_learns_random_labels(cls, kwargs, epochs):
    keras.utils.set_random_seed(0)
    x = _features(32, seed=3)
    y = np.arange(32) % 4
    backbone = cls(T, F, **kwargs)
    model = keras.Sequential([keras.Input((T, F)), backbone, keras.layers.Dense(4)])
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, shuffle=False)
    assert max(history.history["accuracy"][-5:]) >= 0.9


def test_ds_cnn_activations_do_not_vanish_at_initialization():
    # Keras' default depthwise init counts every channel as fan-in and shrank the embedding to ~1e-6.
    keras.utils.set_random_seed(0)
    backbone = DSCNNBackbone(**ds_cnn_presets.PRESETS[0]["backbone"]["config"])
    embedding = np.asarray(backbone(_features(4), training=False))
    assert 0.1 < np.abs(embedding).mean() < 10.0
