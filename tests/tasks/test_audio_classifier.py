"""AudioClassifier: config round trip, safe_mode save/load, strict verified weights, windowing."""

import numpy as np
import keras
import pytest

from zoo.errors import CheckpointError
from zoo.presets import build_task, get_preset, load_weights_verified, sha256_file
from zoo.tasks.recognition import AudioClassifier


@pytest.fixture(scope="module")
def task():
    keras.utils.set_random_seed(1)
    return build_task(get_preset("kws_dscnn_small_synth"))


def test_signature_and_output_shape(task):
    sig = task.signature()
    assert sig.endpoint == "recognize"
    assert sig.input_names() == ["waveform", "waveform_length"]
    assert sig.output_names() == ["scores", "label_ids", "labels"]
    scores = np.asarray(task(np.zeros((3, task.clip_samples), np.float32)))
    assert scores.shape == (3, 12)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    schema = task.signature_schema()
    assert schema["sample_rate"] == 16000 and schema["labels"][:2] == ["silence", "unknown"]


def test_config_round_trip_and_safe_mode_save_load(task, tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, task.clip_samples)).astype(np.float32)
    clone = AudioClassifier.from_config(task.get_config())
    clone.set_weights(task.get_weights())
    np.testing.assert_allclose(clone(x), task(x), atol=1e-6)
    path = tmp_path / "task.keras"
    task.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, AudioClassifier) and loaded.labels == task.labels
    np.testing.assert_allclose(loaded(x), task(x), atol=1e-6)


def test_feature_classifier_shares_weights(task):
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (2, task.clip_samples)).astype(np.float32)
    features = task.frontend(x)
    np.testing.assert_allclose(task.feature_classifier()(features), task(x), atol=1e-5)


def test_weights_load_strictly_and_verify_sha256(task, tmp_path):
    path = tmp_path / "model.weights.h5"
    task.save_weights(path)
    other = build_task(get_preset("kws_dscnn_small_synth"))
    load_weights_verified(other, path, sha256_file(path))
    for a, b in zip(other.get_weights(), task.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_weights_verified(other, path, "0" * 64)
    wrong_family = build_task(get_preset("kws_dnn_small_synth"))
    with pytest.raises(CheckpointError):
        load_weights_verified(wrong_family, path, None)


def test_select_window_pads_short_and_finds_the_loud_part_of_long_audio(task):
    n = task.clip_samples
    short = np.ones(n // 2, np.float32)
    clip = task.select_window(short)
    assert clip.shape == (n,) and clip[: n // 4].sum() == 0 and clip[n // 4 : n // 4 + n // 2].sum() == n // 2
    long = np.zeros(5 * n, np.float32)
    long[3 * n : 3 * n + n // 2] = 0.5
    clip = task.select_window(long)
    assert np.sum(clip**2) == pytest.approx(np.sum(long**2))
    result = task.predict_waveform(long)
    assert result["label"] in task.labels and 0.0 <= result["score"] <= 1.0
