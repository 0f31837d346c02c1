"""training.separation_train on a tiny noisy-speech corpus written in the test: a fine-tune starts
from the given weights and records where it started."""

import json

import numpy as np
import pytest
import soundfile as sf

from training.separation_train import train_separator

PRESET = "enh_dtln_hearing_16k"


def _corpus(root, n_per_split=2, seconds=1.2, rate=16000):
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    rows = []
    for split in ("train", "validation", "test"):
        for i in range(n_per_split):
            clean = (0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
            noisy = (clean + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
            for kind, wave in (("noisy", noisy), ("clean", clean)):
                (root / split / kind).mkdir(parents=True, exist_ok=True)
                sf.write(root / split / kind / f"{i:05d}.wav", wave, rate)
            rows.append({"path": f"{split}/noisy/{i:05d}.wav", "sources": [f"{split}/clean/{i:05d}.wav"],
                         "split": split, "sample_rate": rate})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_fine_tune_starts_from_init_weights(tmp_path):
    import keras

    from zoo.presets import WEIGHTS_FILE, build_task, get_preset, sha256_file

    preset = get_preset(PRESET)
    _corpus(tmp_path / "data" / preset.data["corpus"])
    keras.utils.set_random_seed(5)
    start = build_task(preset)
    init = tmp_path / "start" / WEIGHTS_FILE
    init.parent.mkdir()
    start.save_weights(str(init))
    (init.parent / "summary.json").write_text(json.dumps({"train_minutes": 12.5, "train_examples_seen": 800,
                                                          "test": {"pesq": 1.5}}))

    overrides = {"data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs"), "init_weights": str(init),
                 "learning_rate": 0.0, "steps_per_epoch": 1, "epochs": 1, "batch_size": 2, "crop_seconds": 1.0,
                 "validation_examples": 2, "test_examples": 1}
    summary = train_separator(PRESET, overrides, verbose=0)

    trained = build_task(preset)
    trained.load_weights(str(tmp_path / "runs" / PRESET / WEIGHTS_FILE))
    for a, b in zip(trained.get_weights(), start.get_weights()):
        np.testing.assert_array_equal(a, b)  # learning rate 0: the run ends where it started
    assert summary["continued_from"] == {"weights": str(init), "sha256": sha256_file(init), "train_minutes": 12.5,
                                         "train_examples_seen": 800,
                                         "test": {"pesq": 1.5}}
    assert {"pesq", "stoi", "si_sdr"} <= set(summary["test"])


def test_continued_from_sums_the_cost_of_a_chain(tmp_path):
    from training.recipe import continued_from

    run = tmp_path / "second"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"train_minutes": 30.0, "updates": 300, "train_examples_seen": 2400,
                                                  "test": {"si_sdr": 9.0},
                                                  "continued_from": {"train_minutes": 50.5, "updates": 500,
                                                                     "train_examples_seen": 4000}}))
    assert continued_from(run / "model.weights.h5", ("train_minutes", "updates", "train_examples_seen", "test")) == {
        "weights": str(run / "model.weights.h5"), "sha256": None, "train_minutes": 80.5, "updates": 800,
        "train_examples_seen": 6400, "test": {"si_sdr": 9.0}}  # no weights file here to take a digest of
    assert continued_from(tmp_path / "none" / "w.h5", ("train_minutes",)) == {
        "weights": str(tmp_path / "none" / "w.h5"), "sha256": None, "train_minutes": None}


def test_continued_from_weights_pulled_from_the_hub_reads_the_index(tmp_path, monkeypatch):
    """A hub folder has no summary.json: the index entry whose sha256 matches the weights gives the cost."""
    import hashlib

    from training.recipe import continued_from

    weights = tmp_path / "hub" / "sep_x" / "model.weights.h5"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"published weights")
    digest = hashlib.sha256(b"published weights").hexdigest()
    index = {"sep_other": {"files": {"model.weights.h5": {"sha256": "0" * 64}}, "metrics": {"train_minutes": 1.0}},
             "sep_x": {"files": {"model.weights.h5": {"sha256": digest}},
                       "metrics": {"train_minutes": 104.6, "train_examples_seen": 68000, "test": {"si_sdri": 7.2}}}}
    (tmp_path / "hub" / "index.json").write_text(json.dumps(index))
    assert continued_from(weights, ("train_minutes", "train_examples_seen", "test")) == {
        "weights": str(weights), "sha256": digest, "train_minutes": 104.6, "train_examples_seen": 68000,
        "test": {"si_sdri": 7.2}}
    copy = tmp_path / "runs" / "start.weights.h5"  # a renamed copy elsewhere: found in the project's hub
    copy.parent.mkdir()
    copy.write_bytes(b"published weights")
    monkeypatch.setenv("ZOO_HUB_DIR", str(tmp_path / "hub"))
    assert continued_from(copy, ("train_minutes",)) == {"weights": str(copy), "sha256": digest, "train_minutes": 104.6}
    weights.write_bytes(b"retrained since")  # no longer the published file: nothing is claimed
    assert continued_from(weights, ("train_minutes",)) == {
        "weights": str(weights), "sha256": hashlib.sha256(b"retrained since").hexdigest(), "train_minutes": None}


def test_a_copy_of_published_weights_keeps_its_chain_after_the_hub_publishes_newer_ones(tmp_path, monkeypatch):
    from training.publish import publish_run
    from training.recipe import continued_from

    hub = tmp_path / "hub"
    monkeypatch.setenv("ZOO_HUB_DIR", str(hub))
    preset = "asr_rnnt_small_synth"

    def publish(name, weights: bytes, minutes: float):
        run = tmp_path / name / preset
        run.mkdir(parents=True)
        (run / "model.weights.h5").write_bytes(weights)
        (run / "summary.json").write_text(json.dumps({"preset": preset, "train_minutes": minutes, "updates": 10,
                                                      "test_wer_greedy": 0.2, "validation_wer_greedy": 0.1}))
        return publish_run(preset, run, hub=hub)

    first = publish("a", b"first weights", 40.0)
    assert "earlier_weights" not in first
    start = tmp_path / "start.weights.h5"  # a copy to continue from, as sessions make
    start.write_bytes(b"first weights")
    assert publish("b", b"second weights", 90.0)["earlier_weights"] == [
        {"sha256": first["files"]["model.weights.h5"]["sha256"],
         "metrics": {"train_minutes": 40.0, "updates": 10, "test_wer_greedy": 0.2}}]
    assert continued_from(start, ("train_minutes", "updates"))["train_minutes"] == 40.0  # found among earlier
    again = publish("c", b"second weights", 90.0)  # republishing the same weights adds nothing
    assert len(again["earlier_weights"]) == 1


def test_whole_training_adds_the_runs_a_fine_tune_started_from():
    from training.publish import _metrics
    from training.recipe import whole_training

    summary = {"train_minutes": 20.0, "train_examples_seen": 2000, "epochs_run": 10, "test": {"si_sdri": 7.0},
               "continued_from": {"train_minutes": 80.0, "train_examples_seen": 6000}}
    assert whole_training(summary) == {"train_minutes": 100.0, "train_examples_seen": 8000, "epochs_run": 40.0}
    published = _metrics(summary, "SourceSeparator")
    assert published["train_minutes"] == 100.0 and published["epochs_run"] == 40.0 and published["test"] == {"si_sdri": 7.0}
    assert whole_training({"train_minutes": 5.0, "epochs_run": 3}) == {"train_minutes": 5.0, "epochs_run": 3}


def test_snr_bands_are_5_db_wide():
    from training.separation_train import snr_band

    assert [snr_band(v) for v in (-5.0, -0.1, 0.0, 4.99, 7.3, 20.0)] == [-5.0, -5.0, 0.0, 0.0, 5.0, 20.0]


def test_enhancement_gains_per_input_snr_band_add_up_to_the_means(tmp_path):
    import keras

    from training.separation_train import evaluate_separator
    from zoo.presets import build_task, get_preset

    _corpus(tmp_path, n_per_split=3)
    rows = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["split"] != "test"]  # six examples
    for row, snr in zip(rows, (-3.0, 2.0, 3.5, 12.0, 14.9, 17.0)):
        row["snr_db"] = snr
    keras.utils.set_random_seed(1)
    metrics = evaluate_separator(build_task(get_preset(PRESET)), tmp_path, rows)
    bands = metrics["gain_by_snr_db"]
    assert list(bands) == ["-5 to 0", "0 to 5", "10 to 15", "15 to 20"]
    assert [b["examples"] for b in bands.values()] == [1, 2, 2, 1]
    for key in ("pesq_gain", "stoi_gain", "si_sdr_gain"):
        weighted = sum(b[key] * b["examples"] for b in bands.values()) / len(rows)
        assert weighted == pytest.approx(metrics[key], abs=2e-4), key
