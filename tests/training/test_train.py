"""`zoo train` end to end on a tiny generated corpus: the recipe runs, learns, and leaves a
checkpoint that loads strictly, a learning curve, a confusion matrix and a report; the result
publishes into a hub folder with sha256 that `zoo.load`-style verified loading accepts."""

import csv
import json

import numpy as np
import pytest

from training.corpora.voices import check_engine
from zoo.errors import DataError

PRESET = "kws_dscnn_small_synth"


def _have_espeak():
    try:
        check_engine("espeak-ng")
        return True
    except DataError:
        return False


@pytest.mark.tts
@pytest.mark.skipif(not _have_espeak(), reason="espeak-ng is not installed (make deps installs it)")
def test_tiny_recipe_learns_and_publishes(tmp_path):
    from training.publish import publish_run
    from training.train import train
    from zoo.presets import WEIGHTS_FILE, build_task, get_preset, load_weights_verified, read_hub_index

    overrides = {"data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs"), "corpus_scale": "tiny",
                 "epochs": "12", "augment": "false", "batch_size": "16", "learning_rate": "3e-3",
                 "time_budget_min": "3", "patience": "20"}
    summary = train(PRESET, overrides, verbose=0)
    run = tmp_path / "runs" / PRESET
    for name in ("learning_curve.png", "confusion_test.png", "report_test.md", "experiment.json", WEIGHTS_FILE):
        assert (run / name).stat().st_size > 0, name
    history = list(csv.DictReader(open(run / "history.csv")))
    assert len(history) == summary["epochs_run"] >= 2
    # It learned: the training loss fell well below chance (ln 12 ~ 2.48) and from its start.
    losses = [float(r["loss"]) for r in history]
    assert losses[-1] < 0.5 * losses[0]
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["params"] > 20_000 and summary["macs"] > 1_000_000

    entry = publish_run(PRESET, run, hub=tmp_path / "hub")
    index = read_hub_index(tmp_path / "hub")
    assert index[PRESET] == entry and entry["metrics"]["test_accuracy"] == summary["test_accuracy"]
    task = build_task(get_preset(PRESET))
    load_weights_verified(task, tmp_path / "hub" / PRESET / WEIGHTS_FILE, entry["files"][WEIGHTS_FILE]["sha256"])
    metrics = json.loads((run / "metrics_test.json").read_text())
    assert np.array(metrics["confusion_matrix"]).sum() == metrics["num_examples"]
