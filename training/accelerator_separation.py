"""Two-speaker separation training on any Keras backend, for a lent GPU machine without TensorFlow.

The lent machines carry JAX but no TensorFlow, take at most 64 MiB of the working tree, and have no
corpora. So a run there trains the backbone on Keras's JAX backend from a small pack made here, and
comes back as backbone weights (Keras weight files are backend-neutral). Three steps:

  pack  (here)   python -m training.accelerator_separation pack PRESET --out DIR [--init WEIGHTS]
                 train-split word clips of the speech corpus (balanced over voices, --word-mb), fixed
                 validation crops of the mixture corpus (held-out voices), the starting weights.
  train (there)  KERAS_BACKEND=jax python -m training.accelerator_separation train PRESET --pack DIR --out DIR
                 every example a fresh mixture by the corpus's own recipe (training.fresh_mixtures),
                 made by worker processes; PIT negative SI-SDR; best weights by validation loss.
  adopt (here)   python -m training.accelerator_separation adopt PRESET --from DIR [DIR ...]
                 the (last) run's weights into the preset's task as runs/PRESET/model.weights.h5, the
                 histories and costs of a chain of runs added up, then the test evaluation and
                 summary.json as `zoo train` writes them.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, DataError

PACK_FILE = "pack.npz"
INIT_FILE = "init.weights.h5"
BEST_FILE = "best.weights.h5"
CORPUS = "speech-mixtures-2spk"  # anechoic: the mixture is the sum of its sources


def _preset(name: str):
    from zoo.presets import get_preset

    preset = get_preset(name)
    if preset.task != "separation" or preset.data.get("corpus") != CORPUS:
        raise ConfigError("accelerator separation training takes two-speaker presets",
                          received=f"{name} ({preset.task}, corpus {preset.data.get('corpus')})",
                          expected=f"a separation preset trained on {CORPUS}",
                          fix="e.g. sep_convtasnet_small_2spk")
    return preset


def pack(preset_name: str, out: Path, *, data_root: str = "data", word_mb: float = 10.0, validation: int = 48,
         crop_seconds: float = 2.0, init: str = "", seed: int = 0) -> Path:
    from training.corpora.registry import manifest_path
    from training.corpora.speech_mixtures import SPEECH_CORPUS, to_pcm
    from training.fresh_mixtures import pack_word_clips
    from training.manifest import read_manifest
    from training.separation_train import _crop, load_example
    from zoo.presets import build_task, load_weights_verified

    preset = _preset(preset_name)
    out.mkdir(parents=True, exist_ok=True)
    manifest = manifest_path(CORPUS, data_root)
    if not manifest.exists():
        raise DataError(f"no {CORPUS} corpus to pack", received=str(manifest), expected="a made corpus",
                        fix=f"run `zoo data make {CORPUS}` (it makes {SPEECH_CORPUS} too)")
    root = manifest.parent
    crop = int(round(crop_seconds * preset.sample_rate))
    rows = [r for r in read_manifest(manifest, required=("path", "split", "sources")) if r["split"] == "validation"]
    val = np.stack([_crop(*load_example(root, r), crop, 0)[1] for r in rows[:validation]])
    arrays = pack_word_clips(manifest_path(SPEECH_CORPUS, data_root), int(word_mb * 1e6), seed)
    meta = {"preset": preset.name, "corpus": CORPUS, "sample_rate": preset.sample_rate, "crop": crop,
            "voices": len(set(arrays["word_speaker"].tolist())), "word_clips": int(arrays["word_length"].size),
            "word_seconds": round(arrays["word_audio"].size / preset.sample_rate, 1), "validation": len(val)}
    if init:  # the backbone's own weights: a task's file nests them under the task's layer path
        task = build_task(preset)
        load_weights_verified(task, Path(init), None)
        task.backbone.save_weights(str(out / INIT_FILE))
        meta["init"] = init
    np.savez(out / PACK_FILE, **arrays, val_sources=to_pcm(val).astype(np.int16),  # the corpus's 16-bit grid
             meta=np.array(json.dumps(meta)))
    (out / "pack.json").write_text(json.dumps(meta, indent=1) + "\n")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"packed {meta['word_clips']} clips of {meta['voices']} voices ({meta['word_seconds']} s), "
          f"{len(val)} validation crops{', starting weights' if init else ''}: {size / 1e6:.1f} MB in {out}")
    return out


def _machine_description() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return (f"{device.device_kind} ({device.platform}), {os.cpu_count()} CPU cores; Keras {keras.__version__}, "
                f"JAX {jax.__version__}")
    from training.train import _machine

    return f"{_machine()}; Keras {keras.__version__}, {backend} backend"


def _batches(pool, seed: int, batch: int, crop: int, chunk: int):
    """(mixture, sources) float batches forever; the workers draw `chunk` batches ahead."""
    from training.fresh_mixtures import worker_batch

    first = 0
    while True:
        jobs = [(seed, first + i, batch, crop) for i in range(chunk)]
        for sources in pool.imap(worker_batch, jobs):
            s = sources.astype(np.float32) / 32768.0
            yield s.sum(axis=1), s
        first += chunk


def train(preset_name: str, pack_dir: Path, out: Path, *, minutes: float, batch_size: int = 32,
          learning_rate: float = 1e-3, clipnorm: float = 5.0, steps_per_epoch: int = 400, epochs: int = 100000,
          workers: int = 0, seed: int = 0, init: Path | None = None) -> dict:
    """Train the preset's backbone from `pack_dir` until `minutes` (or `epochs`) are spent; write the
    best weights by validation loss, history.csv, experiment.json and train_time.json to `out`.
    Starts from `init` (backbone weights, e.g. a previous run's best: a chain), else the pack's."""
    import keras

    from training.fresh_mixtures import init_worker
    from training.recipe import time_budget
    from training.separation_train import make_loss
    from zoo.registry import import_family
    from zoo.tasks.recognition import _as_layer

    preset = _preset(preset_name)
    with np.load(pack_dir / PACK_FILE) as arrays:
        meta = json.loads(str(arrays["meta"]))
        val_sources = arrays["val_sources"].astype(np.float32) / 32768.0
    crop = meta["crop"]
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    import_family(preset.family)
    backbone = _as_layer(preset.backbone, "backbone")
    start_from = str(init) if init else meta.get("init", "")
    if init or (pack_dir / INIT_FILE).exists():
        backbone.load_weights(str(init or pack_dir / INIT_FILE))
    backbone.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss=make_loss("pit_si_sdr"))
    workers = workers or max(1, (os.cpu_count() or 2) - 2)
    settings = {"preset": preset.name, "batch_size": batch_size, "learning_rate": learning_rate, "clipnorm": clipnorm,
                "steps_per_epoch": steps_per_epoch, "time_budget_min": minutes,
                "crop_seconds": crop / meta["sample_rate"], "seed": seed, "loss": "pit_si_sdr",
                "init_weights": start_from, "workers": workers,
                "mixtures": "fresh, speech-mixtures-2spk recipe, from packed train-split word clips", "pack": meta}
    (out / "experiment.json").write_text(json.dumps(settings, indent=2) + "\n")
    print(f"training {preset.name} on {_machine_description()}: {backbone.count_params():,} params, "
          f"batch {batch_size} x {crop} samples, {workers} mixing workers, budget {minutes} min", flush=True)
    callbacks = [
        keras.callbacks.ModelCheckpoint(str(out / BEST_FILE), monitor="val_loss", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),
        keras.callbacks.CSVLogger(str(out / "history.csv")),
        time_budget(minutes),
    ]
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds the accelerator
    with context.Pool(workers, initializer=init_worker, initargs=(str(pack_dir / PACK_FILE),)) as pool:
        start = time.perf_counter()
        history = backbone.fit(_batches(pool, seed, batch_size, crop, steps_per_epoch), epochs=epochs,
                               steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=2,
                               validation_data=(val_sources.sum(axis=1), val_sources),
                               validation_batch_size=batch_size)
        seconds = time.perf_counter() - start
    epochs = len(history.history["loss"])
    record = {"train_seconds": round(seconds, 1), "machine": _machine_description(), "epochs": epochs,
              "updates": epochs * steps_per_epoch, "train_examples_seen": epochs * steps_per_epoch * batch_size,
              "best_val_loss": round(float(min(history.history["val_loss"])), 4)}
    (out / "train_time.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record), flush=True)
    return record


def adopt(preset_name: str, sources: list, *, data_root: str = "data", output_dir: str = "runs",
          test_examples: int = 300) -> dict:
    """Accelerator runs (one, or a chain where each started from the last's weights) as runs/PRESET:
    the last run's best weights, the histories and costs added up, then the test evaluation."""
    import csv

    from training.manifest import read_manifest
    from training.separation_train import SeparationExperiment, finish_run
    from zoo.presets import WEIGHTS_FILE, build_task

    preset = _preset(preset_name)
    sources = [Path(s) for s in sources]
    settings = [json.loads((s / "experiment.json").read_text()) for s in sources]
    last = settings[-1]
    overrides = {k: last[k] for k in ("batch_size", "learning_rate", "clipnorm", "steps_per_epoch",
                                      "time_budget_min", "crop_seconds", "seed", "loss")}
    overrides["init_weights"] = settings[0]["init_weights"]  # where the chain started
    exp = SeparationExperiment.from_preset(preset, {**overrides, "data_root": data_root, "output_dir": output_dir,
                                                    "test_examples": test_examples})
    run_dir = Path(output_dir) / preset.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    chain = [{k: s.get(k) for k in ("batch_size", "learning_rate", "steps_per_epoch", "time_budget_min",
                                    "init_weights")} for s in settings]
    (run_dir / "experiment.json").write_text(json.dumps({**dataclasses.asdict(exp), **{
        k: last[k] for k in ("mixtures", "workers", "pack")}, "accelerator_runs": chain}, indent=2) + "\n")
    rows, timing = [], {"train_seconds": 0.0, "updates": 0, "train_examples_seen": 0}
    for source in sources:
        with open(source / "history.csv") as f:
            rows += list(csv.DictReader(f))
        record = json.loads((source / "train_time.json").read_text())
        for key in timing:
            timing[key] += record[key]
        timing["machine"] = record["machine"]
    with open(run_dir / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "epoch": k} for k, r in enumerate(rows))
    (run_dir / "train_time.json").write_text(json.dumps(timing, indent=1) + "\n")
    task = build_task(preset)
    task.backbone.load_weights(str(sources[-1] / BEST_FILE))
    task.save_weights(str(run_dir / WEIGHTS_FILE))
    root = Path(data_root) / CORPUS
    rows = read_manifest(root / "manifest.jsonl", required=("path", "split", "sources"))
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    return finish_run(task, exp, preset, root, split, run_dir)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("pack", help="word clips, validation crops and starting weights for a run elsewhere")
    p.add_argument("preset")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data-root", default="data")
    p.add_argument("--word-mb", type=float, default=10.0, help="int16 word audio to pack, in MB")
    p.add_argument("--validation", type=int, default=48, help="validation crops (held-out voices)")
    p.add_argument("--init", default="", help="starting weights (a task's model.weights.h5, e.g. the hub's)")
    p.add_argument("--crop-seconds", type=float, default=2.0, help="training and validation crop length")
    t = sub.add_parser("train", help="train from a pack on this machine's Keras backend")
    t.add_argument("preset")
    t.add_argument("--pack", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--minutes", type=float, required=True)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--learning-rate", type=float, default=1e-3)
    t.add_argument("--steps-per-epoch", type=int, default=400)
    t.add_argument("--workers", type=int, default=0, help="mixing processes (default: CPU cores - 2)")
    t.add_argument("--init", type=Path, default=None,
                   help="start from these backbone weights (a previous run's best.weights.h5) instead of the pack's")
    a = sub.add_parser("adopt", help="an accelerator run's weights as runs/PRESET, evaluated on test")
    a.add_argument("preset")
    a.add_argument("--from", dest="sources", type=Path, nargs="+", required=True,
                   help="the run's output folder; several for a chain of runs, in order")
    a.add_argument("--data-root", default="data")
    a.add_argument("--output-dir", default="runs")
    args = parser.parse_args(argv)
    if args.step == "pack":
        pack(args.preset, args.out, data_root=args.data_root, word_mb=args.word_mb, validation=args.validation,
             crop_seconds=args.crop_seconds, init=args.init)
    elif args.step == "train":
        train(args.preset, args.pack, args.out, minutes=args.minutes, batch_size=args.batch_size,
              learning_rate=args.learning_rate, steps_per_epoch=args.steps_per_epoch, workers=args.workers,
              init=args.init)
    else:
        adopt(args.preset, args.sources, data_root=args.data_root, output_dir=args.output_dir)


if __name__ == "__main__":
    main()
