"""`zoo train PRESET`: recipe -> checkpoint, metrics, plots.

Features are computed in tf.data (the preset's own frontend layer, so training and serving share
numerics) and the backbone + head train on them; the Task with its frontend is what gets saved.
Resumable (BackupAndRestore), early-stopped on validation accuracy, bounded by a time budget.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from zoo.presets import WEIGHTS_FILE, build_task, get_preset
from training.experiment import Experiment

# The Experiment settings this recipe (keyword spotting and other clip labels) reads, besides
# experiment.RUN_SETTINGS; start_run refuses the others.
CLASSIFIER_SETTINGS = frozenset({
    "epochs", "batch_size", "learning_rate", "weight_decay", "warmup_epochs", "dropout", "unknown_ratio",
    "patience", "time_budget_min", "augment", "noise_prob", "reverb_prob", "spec_augment", "snr_min_db",
    "time_mask_param", "freq_mask_param", "resume"})


def _callbacks(exp: Experiment, run_dir: Path, best_path: Path):
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stop at the end of the epoch that crosses the budget (the best checkpoint is kept)."""

        def __init__(self, minutes):
            super().__init__()
            self.seconds = minutes * 60.0
            self.start = None

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.perf_counter() - self.start
            per_epoch = elapsed / (epoch + 1 - self.params.get("initial_epoch", 0) or 1)
            if elapsed + per_epoch > self.seconds:
                print(f"time budget of {self.seconds / 60:.1f} min reached after epoch {epoch + 1}")
                self.model.stop_training = True

    return [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False)
        if exp.resume else keras.callbacks.Callback(),
        keras.callbacks.ModelCheckpoint(str(best_path), monitor="val_accuracy", mode="max",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=exp.patience),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=exp.resume),
        TimeBudget(exp.time_budget_min),
    ]


def _discard_stale_backup(exp: Experiment, preset, run_dir: Path, reads: frozenset = CLASSIFIER_SETTINGS) -> None:
    """Resume only a run of the same experiment on the same model; a changed recipe or architecture
    starts fresh (its weights, optimizer state, schedule and history would not fit)."""
    import shutil

    fingerprint = json.loads(json.dumps({"experiment": exp.to_json(reads), "frontend": preset.frontend,
                                         "backbone": preset.backbone, "task_config": preset.task_config}))
    saved = run_dir / "fingerprint.json"
    stale = not exp.resume or not saved.exists() or json.loads(saved.read_text()) != fingerprint
    saved.write_text(json.dumps(fingerprint, indent=2) + "\n")
    if stale:
        if (run_dir / "backup").exists():
            print(f"starting {exp.preset} fresh: the previous run in {run_dir} used other settings")
        shutil.rmtree(run_dir / "backup", ignore_errors=True)
        (run_dir / "history.csv").unlink(missing_ok=True)


def build_augmenter(exp: Experiment, sample_rate: int, data_root: Path):
    from training.augment import AugmentConfig, Augmenter
    from training.corpora.noise import fetch_noise_recordings, load_noise_bank
    from training.corpora.rooms import make_rir_bank

    from zoo.errors import DataError

    cache = data_root / "cache"
    try:
        fetch_noise_recordings(cache)
        noises = load_noise_bank(cache, "train", sample_rate=sample_rate)
    except DataError as exc:  # offline machine: colored noise still augments
        print(f"warning: recorded noise unavailable, using colored noise only ({exc})")
        noises = []
    rirs = make_rir_bank(64, sample_rate=sample_rate, seed=exp.seed)
    config = AugmentConfig(noise_prob=exp.noise_prob, reverb_prob=exp.reverb_prob, snr_db=(exp.snr_min_db, 25.0),
                           time_mask_param=exp.time_mask_param, freq_mask_param=exp.freq_mask_param)
    return Augmenter(config, noises, rirs, sample_rate)



def start_run(preset_name: str, overrides: dict | None = None, *, recipe: str = "the audio-classification recipe",
              reads: frozenset = CLASSIFIER_SETTINGS):
    """What every Experiment recipe does first: the typed experiment (a setting the recipe does not
    read is refused), its run folder (a backup of another experiment discarded), experiment.json, the
    seed, and the corpus (made if missing). Returns (preset, experiment, run_dir, manifest path)."""
    import keras

    from training.corpora.registry import make_corpus

    preset = get_preset(preset_name)
    exp = Experiment.from_preset(preset, overrides, recipe=recipe, reads=reads)
    run_dir = exp.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    _discard_stale_backup(exp, preset, run_dir, reads)
    exp.save(run_dir / "experiment.json", reads)
    keras.utils.set_random_seed(exp.seed)
    manifest = make_corpus(preset.data["corpus"], Path(exp.data_root), seed=0, scale=exp.corpus_scale)
    return preset, exp, run_dir, manifest

def train(preset_name: str, overrides: dict | None = None, *, verbose: int = 2) -> dict:
    import keras
    import tensorflow as tf

    from training.evaluate import evaluate_task
    from training.pipeline import dataset_size, make_dataset
    from training.reports import plot_learning_curves

    preset, exp, run_dir, manifest = start_run(preset_name, overrides)
    task = build_task(preset, dropout=exp.dropout)
    labels = task.labels
    augmenter = build_augmenter(exp, task.sample_rate, Path(exp.data_root)) if exp.augment else None
    # The Augmenter carries its own stateless SpecAugment, so the whole pipeline is deterministic.
    spec_augment = augmenter if (augmenter is not None and exp.spec_augment) else None
    common = dict(frontend=task.frontend, batch_size=exp.batch_size, clip_samples=task.clip_samples,
                  sample_rate=task.sample_rate, unknown_ratio=exp.unknown_ratio)
    num_train = dataset_size(manifest, "train", labels, unknown_ratio=exp.unknown_ratio)
    steps_per_epoch = math.ceil(num_train / exp.batch_size)
    train_ds = make_dataset(manifest, "train", labels, augmenter=augmenter, spec_augment=spec_augment,
                            shuffle=True, seed=exp.seed, num_epochs=None, **common)
    val_ds = make_dataset(manifest, "validation", labels, shuffle=False, **common)
    total = steps_per_epoch * exp.epochs
    warmup = min(steps_per_epoch * exp.warmup_epochs, total // 2)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=exp.learning_rate * 0.1, decay_steps=max(total - warmup, 1),
        warmup_target=exp.learning_rate, warmup_steps=warmup, alpha=0.01)
    model = task.feature_classifier()
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=exp.weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    best_path = run_dir / "best.weights.h5"
    print(f"training {preset.name}: {task.backbone.count_params():,} backbone params, "
          f"{num_train} clips, {steps_per_epoch} steps/epoch x {exp.epochs} epochs (budget {exp.time_budget_min} min)")
    start = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=exp.epochs, steps_per_epoch=steps_per_epoch, verbose=verbose,
              callbacks=_callbacks(exp, run_dir, best_path))
    train_seconds = time.perf_counter() - start
    if best_path.exists():
        model.load_weights(str(best_path))
    task.save_weights(str(run_dir / WEIGHTS_FILE))
    plot_learning_curves(run_dir / "history.csv", run_dir / "learning_curve.png", f"{preset.name} training")

    metrics = evaluate_task(task, manifest, "test", out_dir=run_dir, unknown_ratio=exp.unknown_ratio)
    val_metrics = evaluate_task(task, manifest, "validation", out_dir=run_dir, unknown_ratio=exp.unknown_ratio)
    from zoo.metrics.complexity import count_macs

    summary = {
        "preset": preset.name,
        "test_accuracy": metrics["accuracy"],
        "validation_accuracy": val_metrics["accuracy"],
        "test_examples": metrics["num_examples"],
        "train_minutes": round(train_seconds / 60.0, 2),
        "epochs_run": len(open(run_dir / "history.csv").read().strip().splitlines()) - 1,
        "params": int(task.count_params()),
        "macs": int(count_macs(task.backbone)),
        "machine": _machine(),
        "tensorflow": tf.__version__,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


def _machine() -> str:
    import os
    import platform

    total = os.cpu_count()
    # a run pinned to fewer cores (taskset) says so: its minutes are not the whole machine's
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    cores = f"{usable} of {total} cores" if usable and total and usable < total else f"{total} cores"
    return f"{platform.machine()} {cores}, {platform.processor() or platform.system()}"
