"""zoo.checkpoints.load_checkpoint: .keras archives load under safe_mode; a Lambda layer or a class nobody
registered is refused before Keras deserializes anything."""

import hashlib
import json
import sys
import zipfile

import keras
import numpy as np
import pytest

from zoo.errors import CheckpointError
from zoo.checkpoints import load_checkpoint


@keras.saving.register_keras_serializable(package="zoo_hub_test")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _model(*layers):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="x")
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def _rewrite_config(src, dst, edit):
    """Copy a .keras archive, passing config.json through `edit` (a crafted checkpoint)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(item, data)


def _layer_configs(config):
    return config["config"]["layers"]


def test_registered_layers_load_and_predict_the_same(tmp_path):
    model = _model(keras.layers.Dense(3, name="dense"), Scale(3.0, name="scale"))
    path = tmp_path / "ok.keras"
    model.save(path)
    loaded = load_checkpoint(path, expected_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    x = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(loaded.get_layer("scale"), Scale)


def test_a_lambda_layer_is_refused(tmp_path):
    path = tmp_path / "lambda.keras"
    _model(keras.layers.Dense(3), keras.layers.Lambda(lambda t: t * 2.0, name="double")).save(path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "Lambda layer" in str(err.value) and "registered layer" in str(err.value)


def test_a_lambda_smuggled_into_a_registered_name_is_refused(tmp_path):
    """The same archive with the Lambda's class renamed still carries serialized bytecode."""
    src, dst = tmp_path / "lambda.keras", tmp_path / "renamed.keras"
    _model(keras.layers.Lambda(lambda t: t + 1.0, name="plus")).save(src)

    def rename(config):
        for layer in _layer_configs(config):
            if layer["class_name"] == "Lambda":
                layer["class_name"] = "Dense"
        return config

    _rewrite_config(src, dst, rename)
    with pytest.raises(CheckpointError, match="Lambda layer"):
        load_checkpoint(dst)


def test_an_unknown_class_from_another_package_is_refused_without_importing_it(tmp_path):
    src, dst = tmp_path / "ok.keras", tmp_path / "unknown.keras"
    _model(Scale(2.0, name="scale")).save(src)

    def swap(config):
        for layer in _layer_configs(config):
            if layer["class_name"] == "Scale":
                layer.update(module="evil_payload.layers", class_name="Backdoor", registered_name="evil>Backdoor")
        return config

    _rewrite_config(src, dst, swap)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(dst)
    assert "evil>Backdoor" in str(err.value) and "neither Keras's nor registered" in str(err.value)
    assert "evil_payload" not in sys.modules


def test_an_unknown_keras_class_name_is_refused(tmp_path):
    src, dst = tmp_path / "ok.keras", tmp_path / "nosuch.keras"
    _model(keras.layers.Dense(2, name="dense")).save(src)

    def swap(config):
        for layer in _layer_configs(config):
            if layer["class_name"] == "Dense":
                layer["class_name"] = "NoSuchLayer"
        return config

    _rewrite_config(src, dst, swap)
    with pytest.raises(CheckpointError, match="cannot be loaded under safe_mode.*NoSuchLayer"):
        load_checkpoint(dst)


def test_wrong_hash_not_a_zip_and_wrong_suffix_are_clear_errors(tmp_path):
    path = tmp_path / "ok.keras"
    _model(keras.layers.Dense(2)).save(path)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path, expected_sha256="0" * 64)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="not a valid .keras archive"):
        load_checkpoint(junk)
    pickle_like = tmp_path / "model.pkl"
    pickle_like.write_bytes(b"\x80\x04")
    with pytest.raises(CheckpointError, match="not a .keras checkpoint"):
        load_checkpoint(pickle_like)
