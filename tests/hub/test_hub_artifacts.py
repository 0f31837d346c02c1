"""Exported artifacts in the hub: publish_artifacts lists every file with its sha256, republishing
replaces (never leaves stale records), a pull verifies them; the shipped SavedModel and TFLite
artifacts reproduce the Keras model they were exported from."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tests.hub.conftest import random_bytes, write_hub

REPO_HUB = Path(__file__).resolve().parents[2] / "hub"


def _fake_exports(root: Path, seed: int) -> dict:
    sm = root / "sm" / "1"
    (sm / "variables").mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(random_bytes(300, seed))
    (sm / "variables" / "variables.index").write_bytes(random_bytes(40, seed + 1))
    tfl = root / "tfl"
    tfl.mkdir()
    (tfl / "p_float32.tflite").write_bytes(random_bytes(120, seed + 2))
    (tfl / "p_float32.json").write_text(json.dumps({"precision": "float32", "seed": seed}))
    (tfl / "p_float32.parity.json").write_text(json.dumps({"passed": True}))
    return {"saved_model": sm, "tflite_float32": tfl / "p_float32.tflite"}


def test_publish_lists_every_file_and_republish_replaces(tmp_path):
    from training.publish import publish_artifacts
    from zoo import hub

    hub_root = tmp_path / "hub"
    write_hub(hub_root, {"p": {"model.weights.h5": b"weights"}})
    entry = publish_artifacts("p", _fake_exports(tmp_path / "a", 0), hub=hub_root)
    assert entry["artifacts"] == {"saved_model": "saved_model/1", "tflite_float32": "tflite/p_float32.tflite"}
    assert sorted(entry["files"]) == ["model.weights.h5", "saved_model/1/saved_model.pb",
                                      "saved_model/1/variables/variables.index", "tflite/p_float32.json",
                                      "tflite/p_float32.parity.json", "tflite/p_float32.tflite"]
    for rel, meta in entry["files"].items():
        data = (hub_root / "p" / rel).read_bytes()
        assert meta == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    # republish with different bytes and without the variables file: no stale record or file remains
    second = _fake_exports(tmp_path / "b", 7)
    (second["saved_model"] / "variables" / "variables.index").unlink()
    entry = publish_artifacts("p", second, hub=hub_root)
    assert "saved_model/1/variables/variables.index" not in entry["files"]
    assert not (hub_root / "p" / "saved_model/1/variables/variables.index").exists()
    assert entry["files"]["saved_model/1/saved_model.pb"]["sha256"] == hashlib.sha256(
        (second["saved_model"] / "saved_model.pb").read_bytes()).hexdigest()

    # a pull from that hub verifies and reproduces every artifact file
    folder = hub.pull("p", hub_url=str(hub_root), cache_dir=tmp_path / "cache", progress=False)
    for rel, meta in entry["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == meta["sha256"]


def test_unknown_kind_and_unpublished_preset_are_refused(tmp_path):
    from training.publish import publish_artifacts

    hub_root = tmp_path / "hub"
    write_hub(hub_root, {"p": {"model.weights.h5": b"weights"}})
    with pytest.raises(ValueError, match="unknown artifact kinds"):
        publish_artifacts("p", {"onnx": tmp_path}, hub=hub_root)
    with pytest.raises(KeyError, match="no hub entry"):
        publish_artifacts("q", {}, hub=hub_root)


def _index():
    return json.loads((REPO_HUB / "index.json").read_text())


def test_every_shipped_artifact_is_a_listed_file():
    from zoo.presets import get_preset

    for name, entry in _index().items():
        artifacts = entry.get("artifacts", {})
        if get_preset(name).task_class == "AudioClassifier":  # the exported families so far
            assert {"saved_model", "tflite_float32", "tflite_int8"} <= set(artifacts), name
        for kind, rel in artifacts.items():
            listed = [f for f in entry["files"] if f == rel or f.startswith(rel + "/")]
            assert listed, (name, kind)
            if kind == "saved_model":
                assert f"{rel}/saved_model.pb" in entry["files"]
                assert f"{rel}/metadata.json" in entry["files"]


def test_shipped_artifacts_match_keras(tmp_path):
    """Pulled offline from the repository's hub: SavedModel (recognize) and TFLite float32 equal the Keras
    model built from the shipped weights."""
    import tensorflow as tf

    import zoo
    from export.tflite import Runner
    from zoo import hub

    name = "kws_dscnn_small_synth"
    artifacts = _index()[name]["artifacts"]
    folder = hub.pull(name, hub_url=str(REPO_HUB), cache_dir=tmp_path / "cache", offline=True, progress=False)
    task = zoo.load(name)
    x = (0.1 * np.random.default_rng(0).standard_normal((3, task.clip_samples))).astype(np.float32)
    want = np.asarray(task(x, training=False))
    sm = tf.saved_model.load(str(folder / artifacts["saved_model"])).signatures["recognize"]
    got = sm(waveform=tf.constant(x), waveform_length=tf.fill([3], task.clip_samples))["scores"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    runner = Runner((folder / artifacts["tflite_float32"]).read_bytes())
    np.testing.assert_allclose(runner.scores(x), want, atol=1e-4)


def test_publish_over_an_unlisted_leftover_copy(tmp_path):
    """A folder left by an interrupted publish (not in the index) is replaced, not an error."""
    from training.publish import publish_artifacts

    hub_root = tmp_path / "hub"
    write_hub(hub_root, {"p": {"model.weights.h5": b"weights"}})
    leftover = hub_root / "p" / "saved_model" / "1"
    leftover.mkdir(parents=True)
    (leftover / "stale.bin").write_bytes(b"x")
    entry = publish_artifacts("p", _fake_exports(tmp_path / "a", 0), hub=hub_root)
    assert not (leftover / "stale.bin").exists()
    assert "saved_model/1/saved_model.pb" in entry["files"]
