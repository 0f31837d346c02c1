"""Resume keeps a run's backup only for the same experiment on the same architecture."""

import dataclasses

from training.experiment import Experiment
from training.train import _discard_stale_backup
from zoo.presets import get_preset


def _run_dir(tmp_path):
    run = tmp_path / "run"
    (run / "backup").mkdir(parents=True)
    (run / "history.csv").write_text("epoch,loss\n0,1.0\n")
    return run


def test_same_experiment_and_model_resumes_changed_ones_start_fresh(tmp_path):
    preset = get_preset("kws_dscnn_small_synth")
    exp = Experiment.from_preset(preset)
    run = _run_dir(tmp_path)
    _discard_stale_backup(exp, preset, run)  # first run: nothing recorded yet -> fresh
    assert not (run / "backup").exists()

    (run / "backup").mkdir()
    _discard_stale_backup(exp, preset, run)  # identical -> the backup is kept for resume
    assert (run / "backup").exists()

    wider = dataclasses.replace(preset, backbone={**preset.backbone,
                                                  "config": {**preset.backbone["config"], "filters": 32}})
    _discard_stale_backup(exp, wider, run)  # architecture changed -> fresh
    assert not (run / "backup").exists() and not (run / "history.csv").exists()

    (run / "backup").mkdir()
    _discard_stale_backup(exp.with_overrides({"epochs": "3"}), wider, run)  # recipe changed -> fresh
    assert not (run / "backup").exists()

    (run / "backup").mkdir()
    _discard_stale_backup(dataclasses.replace(exp.with_overrides({"epochs": "3"}), resume=False), wider, run)
    assert not (run / "backup").exists()  # resume=False always starts fresh
