"""training.hub_build: model cards come from the preset, the hub index and the run summary."""

import json

from tests.hub.conftest import write_hub
from training.hub_build import build_model_card, write_model_card

NAME = "kws_dscnn_small_synth"


def test_card_states_measured_numbers_files_and_limitations(tmp_path):
    index = write_hub(tmp_path / "hub", {NAME: {"model.weights.h5": b"w" * 2048, "report_test.md": b"# r\n"}})
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({
        "preset": NAME, "test_accuracy": 0.9321, "validation_accuracy": 0.9012, "test_examples": 1234,
        "train_minutes": 21.5, "epochs_run": 33, "params": 23756, "macs": 5_870_000, "machine": "x86_64 2 cores"}))
    card = build_model_card(NAME, run, hub=tmp_path / "hub")
    assert card.startswith(f"# {NAME}\n")
    assert "| test accuracy | 93.21 % on 1234 clips |" in card
    assert "| validation accuracy | 90.12 % |" in card
    assert "| parameters | 23.76 k (23756) |" in card and "| MACs per clip (backbone) | 5.87 M |" in card
    assert index[NAME]["files"]["model.weights.h5"]["sha256"] in card and "| `model.weights.h5` | 2.0 KB |" in card
    assert "33 epochs, 21.5 min on x86_64 2 cores" in card and "`zoo train kws_dscnn_small_synth`" in card
    assert "DSCNNBackbone" in card and "Apache-2.0" in card and "yes, no, up, down" in card
    assert "text-to-speech voices" in card and "`unknown`" in card and "1 s clips" in card
    assert "| latency | not measured |" in card
    assert f"../../hub/{NAME}/report_test.md" in card


def test_card_without_published_files_says_how_to_make_them(tmp_path):
    (tmp_path / "hub").mkdir()
    path = write_model_card(NAME, tmp_path / "no-run", docs_dir=tmp_path / "docs" / "models", hub=tmp_path / "hub")
    card = path.read_text()
    assert path.name == f"{NAME}.md"
    assert f"run `zoo train {NAME} --publish`" in card and "| test accuracy | not measured |" in card


def test_recognizer_card_shows_wer_per_voice_group_and_no_class_labels(tmp_path):
    name = "asr_deepspeech2_small_synth"
    write_hub(tmp_path / "hub", {name: {"model.weights.h5": b"w" * 2048, "report_test.md": b"# r\n"}})
    run = tmp_path / "run"
    run.mkdir()
    groups = {"flite:slt": {"utterances": 250, "wer": 0.608}, "espeak-ng:en-029": {"utterances": 240, "wer": 0.45}}
    (run / "summary.json").write_text(json.dumps({
        "preset": name, "test_wer_greedy": 0.42, "test_wer_greedy_by_group": groups, "train_minutes": 30.0,
        "updates": 1000, "epochs_run": 3.0, "params": 1029085, "continued_from": {"train_minutes": 60.0,
                                                                                     "updates": 2000}}))
    card = build_model_card(name, run, hub=tmp_path / "hub")
    assert "| flite:slt | 250 | 60.80 % |" in card and "| espeak-ng:en-029 | 240 | 45.00 % |" in card
    assert "test_wer_greedy_by_group" not in card and "continued_from" not in card
    assert "| train_minutes | 90 |" in card and "| updates | 3000 |" in card  # the whole training
    assert "labels (" not in card and "Per-class" not in card
    assert "WER per voice group and the first transcripts" in card
    # a chain of runs: the last run's own settings, not the preset's defaults
    assert "a chain of runs" in card and "training settings of the last run: `not recorded`" in card
    (run / "experiment.json").write_text(json.dumps({"preset": name, "output_dir": "runs/x", "init_weights": "w.h5",
                                                     "learning_rate": 0.0005, "patience": 1000}))
    card = build_model_card(name, run, hub=tmp_path / "hub")
    assert 'training settings of the last run: `{"learning_rate": 0.0005, "patience": 1000}`' in card
    assert "runs/x" not in card and "the whole chain 9.0 epochs, 90.0 min, the last run on ?" in card  # scaled
    # a model soup (zoo train --set average_runs=...): each averaged run's settings and how to repeat it
    (run / "experiment.json").write_text(json.dumps({
        "preset": name, "output_dir": "runs/soup", "data_root": "data_free", "corpus_scale": "full_free",
        "average_runs": [{"run": "runs/a/x", "command_repeats": 2}, {"run": "runs/b/x", "command_repeats": 3}]}))
    card = build_model_card(name, run, hub=tmp_path / "hub")
    assert ('the average (a uniform model soup) of 2 runs that continued the same weights; their settings: '
            '`[{"command_repeats": 2, "run": "runs/a/x"}, {"command_repeats": 3, "run": "runs/b/x"}]`') in card
    assert "--set average_runs=RUN,RUN`; the whole chain, every averaged run counted, 9.0 epochs, 90.0 min" in card
    assert "training settings of the last run" not in card
    # --set average_with_start=true: the start weights are one more ingredient, and the command says so
    soup = json.loads((run / "experiment.json").read_text())
    (run / "experiment.json").write_text(json.dumps({**soup, "average_with_start": True}))
    card = build_model_card(name, run, hub=tmp_path / "hub")
    assert "of 2 runs that continued the same weights and those weights themselves; their settings" in card
    assert "--set average_runs=RUN,RUN --set average_with_start=true`; the whole chain" in card
