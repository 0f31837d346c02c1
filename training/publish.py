"""Copy a trained run into the embedded hub (hub/<preset>/ + hub/index.json), with sha256 and metrics."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from training.recipe import CHAIN_KEYS, whole_training
from zoo.presets import WEIGHTS_FILE, hub_dir, sha256_file


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the hub is read by others (mirrors, servers)
    os.replace(tmp, path)


# The summary.json entries published as a preset's metrics, by task class.
_METRIC_KEYS = {
    "AudioClassifier": ("test_accuracy", "validation_accuracy", "test_examples", "train_minutes", "epochs_run",
                        "params", "macs", "machine"),
    "SpeechRecognizer": ("test_wer_greedy", "test_wer_beam", "test_cer_greedy", "test_cer_beam", "beam_width",
                         "validation_wer_greedy", "test_utterances", "test_wer_greedy_by_group", "train_minutes",
                         "epochs_run", "updates", "params", "machine"),
    "SourceSeparator": ("test", "algorithmic_latency_ms", "best_val_loss", "train_minutes", "epochs_run",
                        "train_examples_seen", "params", "machine"),
    "TextToSpeech": ("test", "intelligibility", "best_val_loss", "train_minutes", "epochs_run", "params", "machine"),
}


def _metrics(summary: dict, task_class: str) -> dict:
    metrics = {k: summary[k] for k in _METRIC_KEYS[task_class] if k in summary}
    # a run continued from earlier weights: publish the whole training's cost
    metrics.update({k: v for k, v in whole_training(summary).items() if k in metrics})
    return metrics


def _earlier_weights(previous: dict, files: dict) -> dict:
    """{"earlier_weights": [...]}: the weights a preset published before, newest first, each with its
    sha256 and the chain metrics (training.recipe.CHAIN_KEYS), so a run that continues a copy of them
    still finds their cost after the hub publishes newer weights. {} when there is nothing earlier."""
    earlier = list(previous.get("earlier_weights", []))
    old = previous.get("files", {}).get(WEIGHTS_FILE, {}).get("sha256")
    if old and old != files.get(WEIGHTS_FILE, {}).get("sha256") and all(e["sha256"] != old for e in earlier):
        metrics = previous.get("metrics", {})
        earlier.insert(0, {"sha256": old, "metrics": {k: metrics[k] for k in CHAIN_KEYS if k in metrics}})
    return {"earlier_weights": earlier} if earlier else {}


def publish_run(preset_name: str, run_dir: Path, hub: Path | None = None) -> dict:
    hub = Path(hub or hub_dir())
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    dest = hub / preset_name
    dest.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in (WEIGHTS_FILE, "learning_curve.png", "confusion_test.png", "report_test.md"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, dest / name)
            files[name] = {"sha256": sha256_file(dest / name), "size": (dest / name).stat().st_size}
    index_path = hub / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    from zoo.presets import get_preset

    preset = get_preset(preset_name)
    index[preset_name] = {
        "license": preset.license,
        "source": f"trained on {preset.data['corpus']} by this project's recipe",
        "files": files,
        "metrics": _metrics(summary, preset.task_class),
        "recipe": f"zoo train {preset_name}",
        **_earlier_weights(index.get(preset_name, {}), files),
    }
    _atomic_write_text(index_path, json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return index[preset_name]


# Exported artifacts published beside the weights: kind -> path inside the preset's hub folder.
# The SavedModel sits in TF Serving's layout (<preset>/saved_model/<version>/), so a pulled copy
# serves with `zoo serve --model_name PRESET --model_base_path <cache>/hub/PRESET/saved_model`.
ARTIFACT_KINDS = ("saved_model", "tflite_float32", "tflite_int8", "tflite_stream_float32", "tflite_stream_int8")


def publish_artifacts(preset_name: str, artifacts: dict, hub: Path | None = None) -> dict:
    """Copy exported artifacts into hub/<preset>/ and list every file (sha256, size) in the index.

    `artifacts`: kind (ARTIFACT_KINDS) -> exported path: the SavedModel version folder, or a .tflite
    file (its `<stem>.json` metadata and `<stem>.parity.json` gate report travel with it). The
    entry gains `artifacts` (kind -> path in the preset folder); earlier artifact files are replaced.
    """
    hub = Path(hub or hub_dir())
    index_path = hub / "index.json"
    index = json.loads(index_path.read_text())
    if preset_name not in index:
        raise KeyError(f"{preset_name} has no hub entry: publish its weights first")
    unknown = sorted(set(artifacts) - set(ARTIFACT_KINDS))
    if unknown:
        raise ValueError(f"unknown artifact kinds {unknown}; expected {ARTIFACT_KINDS}")
    entry = index[preset_name]
    dest = hub / preset_name
    old = entry.get("artifacts", {})
    for kind, rel in old.items():  # forget the previous copies of what is republished
        if kind not in artifacts:
            continue
        # a SavedModel is a folder; a .tflite travels with <stem>.json and <stem>.parity.json
        stale = [f for f in entry["files"] if f.startswith(rel + "/")] if kind == "saved_model" else \
            [f for f in entry["files"] if f == rel or f.startswith(rel[:-len(".tflite")] + ".")]
        for f in stale:
            (dest / f).unlink(missing_ok=True)
            del entry["files"][f]
        if kind == "saved_model":
            shutil.rmtree(dest / rel, ignore_errors=True)
    published = dict(old)
    for kind, source in sorted(artifacts.items()):
        source = Path(source)
        if kind == "saved_model":
            rel = f"saved_model/{source.name}"
            shutil.rmtree(dest / rel, ignore_errors=True)  # also a copy the index never listed
            shutil.copytree(source, dest / rel)
            copied = [p for p in sorted((dest / rel).rglob("*")) if p.is_file()]
        else:
            rel = f"tflite/{source.name}"
            (dest / "tflite").mkdir(parents=True, exist_ok=True)
            copied = []
            stem = source.name[:-len(".tflite")]
            for extra in (source, source.with_name(f"{stem}.json"), source.with_name(f"{stem}.parity.json")):
                if extra.exists():
                    shutil.copyfile(extra, dest / "tflite" / extra.name)
                    copied.append(dest / "tflite" / extra.name)
        published[kind] = rel
        for path in copied:
            entry["files"][path.relative_to(dest).as_posix()] = {"sha256": sha256_file(path),
                                                                 "size": path.stat().st_size}
    entry["artifacts"] = dict(sorted(published.items()))
    entry["files"] = dict(sorted(entry["files"].items()))
    _atomic_write_text(index_path, json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return entry
