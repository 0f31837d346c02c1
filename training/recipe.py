"""What the task-specific training recipes share (training/separation_train.py, training/tts_train.py):
a typed experiment from a preset's training dict, a wall-clock budget, and the run record every
summary.json carries."""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path

from zoo.errors import ConfigError


def experiment_from_preset(cls, preset, overrides=None, what: str = "training"):
    """An instance of dataclass `cls` from preset.training + overrides, each value cast to its field's
    type; unknown keys raise ConfigError naming the known ones."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {"preset": preset.name}
    for key, value in {**preset.training, **(overrides or {})}.items():
        if key not in fields:
            raise ConfigError(f"unknown {what} setting {key!r}", received=key, expected=sorted(fields),
                              fix="fix the preset's training dict or --set key")
        typ = fields[key].type
        values[key] = {"int": int, "float": float, "str": str}.get(typ, lambda v: v)(value)
    return cls(**values)


def time_budget(minutes: float):
    """A Keras callback that stops training before an epoch would end past `minutes`."""
    import keras

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.perf_counter() - self.start
            if elapsed * (epoch + 2) / (epoch + 1) > minutes * 60:
                self.model.stop_training = True

    return TimeBudget()


def _published_metrics(weights: Path, digest: str | None) -> dict:
    """The hub index's metrics of the published preset whose weights `weights` (sha256 `digest`) are or
    were (matched by sha256, whatever the file is called: the index two folders up, as in hub/<preset>/,
    then the project's hub, so a copy of a published file keeps its chain after newer weights replace it),
    else {}. Published metrics already count a fine-tune's whole training."""
    from zoo.presets import hub_dir, read_hub_index

    if digest is None:
        return {}
    for root in dict.fromkeys((weights.parent.parent.resolve(), hub_dir().resolve())):
        for entry in read_hub_index(root).values():
            if any(f.get("sha256") == digest for f in (entry.get("files") or {}).values()):
                return dict(entry.get("metrics") or {})
            for earlier in entry.get("earlier_weights", []):  # replaced since (training.publish keeps them)
                if earlier["sha256"] == digest:
                    return dict(earlier["metrics"])
    return {}


def continued_from(init_weights, keys) -> dict:
    """What a run that starts from `init_weights` continues: the weights' path and sha256, and `keys` of the
    summary.json beside them (or, for weights pulled from the hub, of its index's metrics), with
    train_minutes, updates and train_examples_seen summed over a chain of continuations (so
    published costs count the whole training)."""
    from zoo.presets import sha256_file

    weights = Path(init_weights)
    # the digest names the start even after its file is moved or the hub publishes newer weights
    digest = sha256_file(weights) if weights.is_file() else None
    previous = weights.parent / "summary.json"
    summary = json.loads(previous.read_text()) if previous.is_file() else _published_metrics(weights, digest)
    summary.update(whole_training(summary))
    return {"weights": str(init_weights), "sha256": digest, **{k: summary.get(k) for k in keys}}


COST_KEYS = ("train_minutes", "updates", "train_examples_seen")
# the published metrics a continuation reads of its start (continued_from's keys, epochs for whole_training)
CHAIN_KEYS = (*COST_KEYS, "epochs_run", "test_wer_greedy", "test")
# experiment.json entries that say where a run read and wrote, not how it trained
PLACE_SETTINGS = ("preset", "data_root", "output_dir", "init_weights")


def whole_training(summary: dict) -> dict:
    """The cost keys a run records, with a fine-tune's earlier runs added (its `continued_from`,
    itself summed over the chain) and epochs_run scaled to match: what tables and cards publish."""
    before = summary.get("continued_from") or {}
    out = {k: summary[k] for k in (*COST_KEYS, "epochs_run") if summary.get(k) is not None}
    for key in COST_KEYS:
        if key in out and before.get(key):
            out[key] = round(out[key] + before[key], 2)
    for count in ("updates", "train_examples_seen"):  # epochs scale with whichever count the run records
        if "epochs_run" in out and count in out and before.get(count):
            out["epochs_run"] = round(summary["epochs_run"] * out[count] / max(summary[count], 1), 2)
            break
    return out


def run_record(run_dir: Path, task) -> dict:
    """best_val_loss, train_minutes, epochs_run (from history.csv and train_time.json), params,
    machine (train_time.json's, else this one) and TensorFlow version."""
    import tensorflow as tf

    from training.train import _machine

    run_dir = Path(run_dir)
    timing = json.loads((run_dir / "train_time.json").read_text()) if (run_dir / "train_time.json").exists() else {}
    train_seconds = timing.get("train_seconds", float("nan"))
    history = []
    if (run_dir / "history.csv").exists():
        with open(run_dir / "history.csv") as f:
            history = list(csv.DictReader(f))
    return {
        # runs trained elsewhere count their own examples (accelerator chains of unequal epochs)
        **({"train_examples_seen": timing["train_examples_seen"]} if "train_examples_seen" in timing else {}),
        "best_val_loss": round(min(float(h["val_loss"]) for h in history), 4) if history else None,
        "train_minutes": round(train_seconds / 60.0, 2),
        "epochs_run": len(history),
        "params": int(task.count_params()),
        # runs trained elsewhere (training.accelerator_separation) name their machine in train_time.json
        "machine": timing.get("machine") or _machine() + " (CPU training)",
        "tensorflow": tf.__version__,
    }


def average_weights(task, weights_paths) -> None:
    """Set `task` to the element-wise mean of the weights files (a uniform model soup, Wortsman et al.
    2022): runs fine-tuned from the same start stay in one basin, so their mean often scores better than
    either. Each file is loaded strictly (every variable must fit); integer variables keep the first
    file's values."""
    import numpy as np

    from zoo.presets import load_weights_verified

    total = None
    for path in weights_paths:
        load_weights_verified(task, Path(path), None)
        values = task.get_weights()
        total = values if total is None else [t + v if np.issubdtype(v.dtype, np.floating) else t
                                              for t, v in zip(total, values)]
    task.set_weights([(t / len(weights_paths)).astype(t.dtype) if np.issubdtype(t.dtype, np.floating) else t
                      for t in total])
