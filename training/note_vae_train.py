"""Train NoteVAE and an instrument classifier on instrument-notes, then measure generated sounds.

    python -m training.note_vae_train --budget-minutes 10 --out runs/note_vae

The budget covers both trainings (the classifier gets CLASSIFIER_SHARE of it, at most
CLASSIFIER_MAX_MINUTES); the evaluation after it takes a minute or two more. Both models keep
the weights of their best validation epoch (classifier: accuracy; VAE: the full-beta loss).

Measures (the survey's for generated sounds; zoo.metrics.synthesis), all on audio: every sound
(VAE prior samples, test-set reconstructions, real test notes, real test notes through Griffin-Lim
alone) is a waveform first and is analysed again before the classifier or the distances see it.
- classifier accuracy on the real test notes (held-out pitches) and on their Griffin-Lim copies;
- inception score of the classifier's probabilities (num_splits=1);
- nearest-neighbour diversity and originality (vs the training notes) on normalized_log_mel with
  the training set's band statistics;
- test reconstruction error of the posterior mean: MSE of the normalized log-mel and the mean
  absolute log-mel error in dB;
- timbre morphs between two instruments at one test pitch: the classifier's probability of both
  instruments along the path.
Writes <out>/note_vae.keras, <out>/instrument_classifier.keras, <out>/metrics.json,
<out>/report.md, docs/samples/note_vae_morph.{png,wav} and the "note-vae" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, DataError

CORPUS = "instrument-notes"
CLASSIFIER_SHARE, CLASSIFIER_MAX_MINUTES = 0.15, 1.5
DB_PER_NEPER_POWER = 10.0 / np.log(10.0)  # ln power -> dB
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "samples"
MORPH_PAIRS = (("piano", "flute"), ("trumpet", "violin"), ("guitar", "organ"))
MORPH_PITCH, MORPH_VELOCITY, MORPH_STEPS = 58, 100, 7


@dataclass
class NoteVaeExperiment:
    data_root: str = "data"
    out: str = "runs/note_vae"
    budget_minutes: float = 10.0
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 1e-3
    prior_samples: int = 240
    write_docs: bool = True
    model: dict = field(default_factory=lambda: dict(latent_dim=32, channels=[32, 64, 128, 128], beta=1.0,
                                                     kl_warmup_steps=1000, griffin_lim_iterations=64))


def load_notes(root: Path):
    """{split: (waveforms f32[N, T], rows)} of the corpus (made first when missing; cached)."""
    from training.corpora.instrument_notes import make_instrument_notes
    from training.manifest import read_manifest
    from zoo.audio import read_audio

    manifest = make_instrument_notes(root, progress=False)
    rows = read_manifest(manifest)
    out = {}
    for split in ("train", "validation", "test"):
        part = [r for r in rows if r["split"] == split]
        if not part:
            raise DataError(f"{CORPUS} has no {split} notes", received=str(manifest), expected=f"rows with split={split}",
                            fix=f"regenerate: zoo data make {CORPUS}")
        out[split] = (np.stack([read_audio(manifest.parent / r["path"], sample_rate=16000)[0] for r in part]), part)
    return out


def instrument_classifier(num_classes: int, num_frames: int, num_mel_bins: int, seed: int = 0):
    """A small CNN on normalized log-mel [B, frames, mels] -> instrument probabilities [B, C]."""
    import keras

    inputs = keras.Input((num_frames, num_mel_bins), name="features")
    x = keras.layers.Reshape((num_frames, num_mel_bins, 1))(inputs)
    for i, c in enumerate((16, 32, 64)):
        x = keras.layers.Conv2D(c, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.3, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="instrument_classifier")


def budget_callback(seconds, monitor, mode):
    """A Keras callback: stop after `seconds`, keep the best weights by `monitor` ("max" or "min")."""
    import keras

    class Budget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.best, self.weights, self.epoch_best = time.time(), None, None, -1

        def on_epoch_end(self, epoch, logs=None):
            value = float(logs[monitor])
            if self.best is None or (value > self.best if mode == "max" else value < self.best):
                self.best, self.weights, self.epoch_best = value, self.model.get_weights(), epoch
            if time.time() - self.start >= seconds:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.weights is not None:
                self.model.set_weights(self.weights)

    return Budget()


def _probabilities(classifier, vae, waveforms):
    return np.asarray(classifier.predict(vae.features(waveforms), batch_size=64, verbose=0), np.float64)


def _vocode(vae, features, batch=40):
    return np.concatenate([vae.to_waveform(features[i:i + batch]) for i in range(0, len(features), batch)])


def evaluate(vae, classifier, labels, data, exp):
    from zoo.metrics.synthesis import (inception_score, nearest_neighbour_diversity, nearest_neighbour_originality,
                                       normalized_log_mel)

    train_wave = data["train"][0]
    test_wave, test_rows = data["test"]
    test_y = np.array([labels.index(r["label"]) for r in test_rows])
    x_test = vae.features(test_wave)
    mu = np.asarray(vae.encode(x_test)[0])
    recon = np.asarray(vae.decode(mu))
    sounds = {
        "real test notes": test_wave,
        "real test notes, Griffin-Lim only": _vocode(vae, x_test),
        "VAE test reconstructions": _vocode(vae, recon),
        "VAE prior samples": _vocode(vae, vae.sample(exp.prior_samples, seed=exp.seed)),
    }
    train_nn, mean, std = normalized_log_mel(train_wave, vae.sample_rate)
    results = {}
    for name, wave in sounds.items():
        p = _probabilities(classifier, vae, wave)
        feats = normalized_log_mel(wave, vae.sample_rate, mean=mean, std=std)[0]
        row = {"count": len(wave), "inception_score": inception_score(p)[0],
               "diversity": nearest_neighbour_diversity(feats),
               "originality": nearest_neighbour_originality(feats, train_nn)}
        if name != "VAE prior samples":
            row["classifier_accuracy"] = float(np.mean(p.argmax(1) == test_y))
        else:
            row["class_histogram"] = np.bincount(p.argmax(1), minlength=len(labels)).tolist()
        results[name] = row
    log_err = np.abs(vae.denormalize(recon) - vae.denormalize(x_test))
    reconstruction = {"normalized_log_mel_mse": float(np.mean((recon - x_test) ** 2)),
                      "log_mel_mae_db": float(DB_PER_NEPER_POWER * np.mean(log_err))}
    return results, reconstruction


def morphs(vae, classifier, labels, data):
    """Morph paths between MORPH_PAIRS at MORPH_PITCH / MORPH_VELOCITY (a test pitch)."""
    wave, rows = data["test"]
    index = {(r["label"], r["pitch"], r["velocity"]): i for i, r in enumerate(rows)}
    paths = []
    for a, b in MORPH_PAIRS:
        ka, kb = (a, MORPH_PITCH, MORPH_VELOCITY), (b, MORPH_PITCH, MORPH_VELOCITY)
        if ka not in index or kb not in index:
            raise DataError("morph notes missing from the test split", received=f"{ka}, {kb}",
                            expected="both in the test split", fix="use the full corpus scale")
        feats = vae.features(wave[[index[ka], index[kb]]])
        path, _ = vae.morph(feats[0], feats[1], MORPH_STEPS)
        audio = vae.to_waveform(path)
        p = _probabilities(classifier, vae, audio)
        paths.append({"a": a, "b": b, "pitch": MORPH_PITCH, "velocity": MORPH_VELOCITY,
                      "p_a": p[:, labels.index(a)].round(4).tolist(), "p_b": p[:, labels.index(b)].round(4).tolist(),
                      "argmax": [labels[k] for k in p.argmax(1)], "log_mel": vae.denormalize(path), "audio": audio})
    return paths


def write_samples(paths, sample_rate, out_dir: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.audio import write_audio

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(len(paths), MORPH_STEPS, figsize=(1.6 * MORPH_STEPS, 1.9 * len(paths)), squeeze=False)
    lo = min(float(np.percentile(p["log_mel"], 5)) for p in paths)
    hi = max(float(p["log_mel"].max()) for p in paths)
    for row, p in zip(axes, paths):
        for k, ax in enumerate(row):
            ax.imshow(p["log_mel"][k].T, origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="magma")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"P({p['a']})={p['p_a'][k]:.2f}\nP({p['b']})={p['p_b'][k]:.2f}", fontsize=6)
        row[0].set_ylabel(f"{p['a']} -> {p['b']}", fontsize=7)
    fig.suptitle(f"NoteVAE timbre morphs at MIDI pitch {MORPH_PITCH} (held out), log-mel 64 x 64, "
                 "classifier probabilities on the vocoded audio", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "note_vae_morph.png", dpi=60)
    plt.close(fig)
    gap = np.zeros(int(0.05 * sample_rate), np.float32)
    first = paths[0]["audio"]
    audio = np.concatenate([np.concatenate([x[:int(0.9 * sample_rate)], gap]) for x in first])
    audio = 0.9 * audio / max(1e-6, float(np.abs(audio).max()))
    write_audio(out_dir / "note_vae_morph.wav", audio, sample_rate)


def report(summary) -> str:
    lines = [f"NoteVAE ({summary['params_vae'] / 1e3:.0f} k parameters, latent {summary['experiment']['model']['latent_dim']}, "
             f"beta {summary['experiment']['model']['beta']}) on `{CORPUS}` (8 GM instruments, FluidR3_GM; test = "
             f"held-out pitches 51, 58, 65), {summary['vae_epochs']} epochs in {summary['vae_train_seconds'] / 60:.1f} "
             f"min; audio by Griffin-Lim ({summary['experiment']['model']['griffin_lim_iterations']} iterations). "
             f"Instrument classifier ({summary['params_classifier'] / 1e3:.0f} k parameters) trained on the real "
             "training notes. All rows are waveforms analysed again; distances on normalized log-mel (64 mels, "
             "training-set band statistics).", "",
             "| sounds | n | classifier accuracy | inception score | diversity | originality (vs train) |",
             "|---|---|---|---|---|---|"]
    for name, r in summary["sounds"].items():
        acc = f"{r['classifier_accuracy']:.3f}" if "classifier_accuracy" in r else "-"
        lines.append(f"| {name} | {r['count']} | {acc} | {r['inception_score']:.2f} | {r['diversity']:.1f} | "
                     f"{r['originality']:.1f} |")
    rec = summary["reconstruction"]
    lines += ["", f"Test reconstruction (posterior mean, before vocoding): normalized log-mel MSE "
              f"{rec['normalized_log_mel_mse']:.3f}, log-mel mean absolute error {rec['log_mel_mae_db']:.2f} dB. "
              f"Inception score is at most 8 (eight classes).", "",
              f"Timbre morphs at pitch {MORPH_PITCH}, velocity {MORPH_VELOCITY} (test pitch), {MORPH_STEPS} steps "
              "from A to B: classifier P(A) / P(B) on the vocoded audio.", "",
              "| A -> B | " + " | ".join(f"step {k}" for k in range(MORPH_STEPS)) + " |",
              "|---|" + "---|" * MORPH_STEPS]
    for p in summary["morphs"]:
        lines.append(f"| {p['a']} -> {p['b']} | " + " | ".join(f"{x:.2f} / {y:.2f}" for x, y in zip(p["p_a"], p["p_b"]))
                     + " |")
    lines += ["", "Figure: docs/samples/note_vae_morph.png; audio (first row): docs/samples/note_vae_morph.wav."]
    return "\n".join(lines) + "\n"


def train(exp: NoteVaeExperiment):
    import keras

    from zoo.families.synthesis.note_vae.note_vae import NoteVAE

    if exp.budget_minutes <= 0:
        raise ConfigError("--budget-minutes must be > 0", received=exp.budget_minutes, expected="e.g. 10",
                          fix="pass --budget-minutes 10")
    keras.utils.set_random_seed(exp.seed)
    out = Path(exp.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = load_notes(Path(exp.data_root))
    labels = sorted({r["label"] for r in data["train"][1]})
    probe = NoteVAE(**exp.model)
    mean, std = NoteVAE.band_statistics(probe.log_mel(data["train"][0]))
    vae = NoteVAE(**exp.model, feature_mean=mean, feature_std=std, seed=exp.seed)
    x = {s: vae.features(w) for s, (w, _) in data.items()}
    y = {s: np.array([labels.index(r["label"]) for r in rows]) for s, (_, rows) in data.items()}
    load_s = time.time() - t0
    print(f"loaded {', '.join(f'{len(v)} {k}' for k, v in x.items())} notes in {load_s:.0f} s", flush=True)

    budget = exp.budget_minutes * 60.0
    clf_s = min(CLASSIFIER_SHARE * budget, CLASSIFIER_MAX_MINUTES * 60.0)
    classifier = instrument_classifier(len(labels), vae.num_frames, vae.num_mel_bins, exp.seed)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clf_budget = budget_callback(clf_s, "val_accuracy", "max")
    t1 = time.time()
    clf_hist = classifier.fit(x["train"], y["train"], batch_size=32, epochs=1000, shuffle=True, verbose=0,
                              validation_data=(x["validation"], y["validation"]), callbacks=[clf_budget])
    clf_train_s = time.time() - t1
    print(f"classifier: {len(clf_hist.epoch)} epochs, best val acc {clf_budget.best:.3f}", flush=True)

    vae.compile(keras.optimizers.Adam(exp.learning_rate))
    vae_budget = budget_callback(budget - (time.time() - t1), "val_loss", "min")
    t2 = time.time()
    hist = vae.fit(x["train"], batch_size=exp.batch_size, epochs=100000, shuffle=True, verbose=0,
                   validation_data=(x["validation"],), callbacks=[vae_budget])
    vae_train_s = time.time() - t2
    h = hist.history
    print(f"vae: {len(hist.epoch)} epochs, best val loss {vae_budget.best:.1f} at epoch {vae_budget.epoch_best}",
          flush=True)
    vae.save(out / "note_vae.keras")
    classifier.save(out / "instrument_classifier.keras")

    t3 = time.time()
    sounds, reconstruction = evaluate(vae, classifier, labels, data, exp)
    paths = morphs(vae, classifier, labels, data)
    if exp.write_docs:
        write_samples(paths, vae.sample_rate, SAMPLES_DIR)
    eval_s = time.time() - t3
    every = max(1, len(hist.epoch) // 40)
    summary = {
        "corpus": CORPUS, "experiment": dataclasses.asdict(exp), "labels": labels, "config": vae.get_config(),
        "params_vae": int(vae.count_params()), "params_classifier": int(classifier.count_params()),
        "load_seconds": load_s, "classifier_train_seconds": clf_train_s, "vae_train_seconds": vae_train_s,
        "eval_seconds": eval_s, "classifier_epochs": len(clf_hist.epoch),
        "classifier_best_validation_accuracy": clf_budget.best, "vae_epochs": len(hist.epoch),
        "vae_steps": int(vae.optimizer.iterations.numpy()), "vae_best_epoch": vae_budget.epoch_best,
        "vae_best_validation_loss": vae_budget.best,
        "vae_history": [{"epoch": e, **{k: float(v[e]) for k, v in h.items()}} for e in range(0, len(hist.epoch), every)],
        "sounds": sounds, "reconstruction": reconstruction,
        "morphs": [{k: v for k, v in p.items() if k not in ("log_mel", "audio")} for p in paths],
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=1))
    text = report(summary)
    (out / "report.md").write_text(text)
    if exp.write_docs:
        from benchmarks.report import machine, write_section

        write_section("note-vae", "## NoteVAE: instrument notes, prior samples and timbre morphs "
                      "(training/note_vae_train.py)\n\n" + text + f"\nMachine: {machine()}.")
    print(text, flush=True)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--out", default="runs/note_vae")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/samples and docs/benchmarks.md")
    args = parser.parse_args(argv)
    exp = NoteVaeExperiment(data_root=args.data_root, out=args.out, budget_minutes=args.budget_minutes,
                            seed=args.seed, write_docs=not args.no_docs)
    exp.model.update(latent_dim=args.latent_dim, beta=args.beta)
    train(exp)


if __name__ == "__main__":
    main()
