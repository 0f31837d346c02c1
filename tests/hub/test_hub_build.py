"""`zoo hub build` reuses a finished run: publishes its weights + measured metrics with sha256 and writes
the model card; unknown presets fail before any work."""

import json

import pytest

from zoo.errors import PresetError

PRESET = "kws_dscnn_small_synth"


def _finished_run(runs):
    from zoo.presets import build_task, get_preset

    run = runs / PRESET
    run.mkdir(parents=True)
    build_task(get_preset(PRESET)).save_weights(run / "model.weights.h5")
    summary = {"preset": PRESET, "test_accuracy": 0.5, "validation_accuracy": 0.6, "test_examples": 10,
               "train_minutes": 0.1, "epochs_run": 1, "params": 26892, "macs": 5952000, "machine": "test"}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_build_reuses_a_finished_run_publishes_and_writes_the_card(tmp_path, capsys):
    from training.hub_build import build_presets
    from zoo.presets import read_hub_index, sha256_file

    run = _finished_run(tmp_path / "runs")
    entries = build_presets([PRESET], runs_dir=tmp_path / "runs", docs_dir=tmp_path / "docs", hub=tmp_path / "hub",
                            export=False)
    assert "reusing the finished run" in capsys.readouterr().out
    index = read_hub_index(tmp_path / "hub")
    assert index[PRESET] == entries[0] and index[PRESET]["metrics"]["test_accuracy"] == 0.5
    assert index[PRESET]["files"]["model.weights.h5"]["sha256"] == sha256_file(run / "model.weights.h5")
    card = (tmp_path / "docs" / f"{PRESET}.md").read_text()
    assert "50.00 %" in card and index[PRESET]["files"]["model.weights.h5"]["sha256"] in card
    assert "text-to-speech" in card  # from the preset's data.synthetic_speech, not from its name


def test_unknown_preset_fails_before_any_work(tmp_path):
    from training.hub_build import build_presets

    with pytest.raises(PresetError):
        build_presets(["kws_nope"], runs_dir=tmp_path / "runs", hub=tmp_path / "hub", export=False)
    assert not (tmp_path / "hub").exists()
