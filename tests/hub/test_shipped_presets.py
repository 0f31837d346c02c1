"""Every preset shipped in hub/ pulls offline, verified, and reproduces the test metric stored in
hub/index.json on its corpus' test split (slow: needs the generated corpus, `zoo data make`)."""

import os
from pathlib import Path

import pytest

from zoo.presets import read_hub_index

SHIPPED = sorted(read_hub_index())
DATA_ROOT = Path(os.environ.get("ZOO_DATA", "data"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_pull_offline_then_reproduce_the_stored_metric(name, tmp_path, monkeypatch):
    import zoo
    from training.corpora.registry import manifest_path
    from training.evaluate import evaluate_task
    from zoo.hub import pull

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    folder = pull(name, offline=True, progress=False)
    assert (folder / "model.weights.h5").exists()
    task = zoo.load(name)
    manifest = manifest_path(task.preset.data["corpus"], DATA_ROOT)
    if not manifest.exists():
        pytest.skip(f"corpus not generated: run `zoo data make {task.preset.data['corpus']}` first")
    stored = read_hub_index()[name]["metrics"]
    kind = type(task).__name__
    if kind == "SpeechRecognizer":
        from training.asr_train import evaluate_asr

        metrics = evaluate_asr(task, manifest, "test", beam_width=None, out_dir=tmp_path / "eval")
        assert metrics["num_utterances"] == stored["test_utterances"]
        assert metrics["wer_greedy"] == pytest.approx(stored["test_wer_greedy"], abs=1e-3)
    elif kind == "AudioClassifier":
        metrics = evaluate_task(task, manifest, "test", out_dir=tmp_path / "eval")
        assert metrics["num_examples"] == stored["test_examples"]
        assert metrics["accuracy"] == pytest.approx(stored["test_accuracy"], abs=1e-3)
    elif kind == "SourceSeparator":
        from training.manifest import read_manifest
        from training.separation_train import evaluate_separator

        rows = [r for r in read_manifest(manifest, required=("path", "split", "sources")) if r["split"] == "test"]
        test = stored["test"]
        metrics = evaluate_separator(task, manifest.parent, rows[:test["num_examples"]], oracle=False)
        key = "si_sdri" if "si_sdri" in test else "pesq"
        assert metrics[key] == pytest.approx(test[key], abs=1e-2)
    elif kind == "TextToSpeech":
        from training.manifest import read_manifest
        from training.tts_train import evaluate_tts_model, load_examples

        rows = read_manifest(manifest, required=("path", "split", "text", "flite_phones", "num_frames"))
        test = stored["test"]
        examples = load_examples(manifest.parent, [r for r in rows if r["split"] == "test"][:test["num_sentences"]],
                                 task.lexicon, "test")
        metrics = evaluate_tts_model(task, examples)
        for key in ("mel_l1_teacher_forced", "mel_l1_free_running", "duration_mae_frames"):
            assert metrics[key] == pytest.approx(test[key], abs=2e-3), key
    else:
        pytest.fail(f"no metric check for task class {kind}")
