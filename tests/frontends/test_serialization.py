"""get_config round trips, .keras save/load under safe_mode, and the build_frontend registry."""

import keras
import numpy as np
import pytest

from zoo.errors import ConfigError
from zoo.frontends import FRONTENDS, build_frontend

# (spec, input shape without batch); small configurations of every frontend.
CASES = {
    "STFT": ({"frame_length": 400, "frame_step": 160, "fft_length": 512, "output": "complex"}, (4000,)),
    "InverseSTFT": ({"frame_length": 400, "frame_step": 160, "fft_length": 512}, (20, 257, 2)),
    "LogMelSpectrogram": ({"sample_rate": 16000, "frame_length": 400, "frame_step": 160,
                           "fft_length": 512, "num_mel_bins": 40, "fmin": 20.0, "fmax": 7600.0},
                          (4000,)),
    "MFCC": ({"sample_rate": 16000, "frame_length": 400, "frame_step": 160, "fft_length": 400,
              "num_mel_bins": 40, "fmin": 20.0, "fmax": 7600.0, "num_coefficients": 13,
              "db_scale": True}, (4000,)),
    "ConstantQ": ({"sample_rate": 16000, "frame_step": 256, "fmin": 130.81, "num_bins": 36},
                  (4000,)),
    "PCEN": ({"alpha": 0.9, "smoothing": 0.05, "trainable": True}, (30, 40)),
    "SincConv": ({"num_filters": 8, "kernel_size": 101, "sample_rate": 16000, "stride": 80}, (4000,)),
    "LearnableFilterbank": ({"num_filters": 10, "kernel_size": 129, "stride": 64, "init": "random",
                             "seed": 3, "rectify": "abs"}, (4000,)),
    "SpecAugment": ({"freq_mask_param": 5, "time_mask_param": 5, "seed": 11}, (30, 40)),
}


def test_every_frontend_has_a_case():
    assert sorted(CASES) == sorted(FRONTENDS)


def _input(shape, seed=0):
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(2,) + shape).astype(np.float32)
    return np.abs(x) + 0.01 if len(shape) == 2 and shape[-1] == 40 else x  # PCEN wants energies


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    config, shape = CASES[name]
    layer = build_frontend({"class_name": name, "config": config})
    x = _input(shape)
    full = layer.get_config()
    for key, value in config.items():
        assert full[key] == value, key
    clone = type(layer).from_config(full)
    assert clone.get_config() == full
    expected = layer(x).numpy()
    if layer.weights:  # trainable filters are rebuilt from the config, then weights copied
        clone.build(x.shape)
        clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_save_load_safe_mode(name, tmp_path):
    config, shape = CASES[name]
    inputs = keras.Input(shape, name="features" if len(shape) > 1 else "waveform")
    layer = build_frontend({"class_name": name, "config": config})
    model = keras.Model(inputs, layer(inputs))
    if layer.weights:  # move off the initial values so that loading must restore them
        layer.set_weights([w + 0.01 for w in layer.get_weights()])
    x = _input(shape, seed=1)
    expected = model(x).numpy()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded(x).numpy(), expected, atol=1e-6)
    assert type(loaded.layers[-1]).__name__ == name


def test_registry_accepts_keras_serialized_specs():
    layer = build_frontend({"class_name": "STFT", "config": CASES["STFT"][0]})
    spec = keras.saving.serialize_keras_object(layer)
    assert spec["registered_name"] == "zoo>STFT"
    again = build_frontend({"class_name": spec["registered_name"], "config": spec["config"]})
    assert again.get_config() == layer.get_config()


def test_registry_errors_list_known_names():
    with pytest.raises(ConfigError) as info:
        build_frontend({"class_name": "LogMel", "config": {}})
    message = str(info.value)
    assert "unknown frontend class_name" in message and "'LogMel'" in message
    for name in FRONTENDS:
        assert name in message
    with pytest.raises(ConfigError, match="does not match its constructor"):
        build_frontend({"class_name": "STFT", "config": {"frame_length": 400, "hop": 160}})
    with pytest.raises(ConfigError, match="must be a dict"):
        build_frontend(["STFT"])
