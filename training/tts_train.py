"""`zoo train PRESET` for TextToSpeech presets: phonemes + durations -> log-mel (FastSpeech recipe).

Inputs are the lexicon's phonemes of each sentence (exactly what the synthesize endpoint computes),
not the corpus's context-dependent espeak-ng phonemes; their durations are re-derived from the
manifest's flite phone timings with the corpus generator's own alignment
(training.corpora.tts_single_voice: align_phones, phoneme_intervals, durations_in_frames), so they
still sum to the clip's frames. Targets are the clips' log-mels (synthesis_protocol.clip_mel).
Loss: L1 on the mel (valid frames) + duration_loss_weight x MSE on log(1 + frames) (real
phonemes), teacher-forced durations. Length-bucketed padded batches; a time budget; the
checkpoint with the best validation loss is kept. Evaluation on the test split writes summary.json:
teacher-forced and free-running mel L1, duration MAE, and `intelligibility` (training.synthesis_eval
on 60 held-out sentences: PocketSphinx and zoo-recognizer WER on synthesized vs reference audio,
MCD, MR-STFT distance, real-time factor).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.recipe import experiment_from_preset, run_record, time_budget
from zoo.errors import DataError
from zoo.presets import WEIGHTS_FILE, build_task, get_preset


@dataclass
class TTSExperiment:
    preset: str
    data_root: str = "data"
    output_dir: str = "runs"
    seed: int = 0
    batch_size: int = 16
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    duration_loss_weight: float = 1.0
    epochs: int = 1000  # the time budget ends training first
    patience: int = 8
    time_budget_min: float = 30.0
    init_weights: str = ""  # continue from these weights (a previous run's model.weights.h5)
    test_examples: int = 100

    @classmethod
    def from_preset(cls, preset, overrides=None):
        return experiment_from_preset(cls, preset, overrides, "TTS training")


def lexicon_durations(lexicon, row: dict) -> tuple[list[int], list[int]]:
    """(token ids, frames per token) of a tts-slt-synth row with the lexicon's phonemes."""
    from training.corpora.tts_single_voice import align_phones, durations_in_frames, phoneme_intervals

    tokens = lexicon.phonemes(row["text"])
    ipa = [p for p in tokens if p != lexicon.word_boundary]
    phones = [tuple(p) for p in row["flite_phones"]]
    taken, _ = align_phones(ipa, [p[0] for p in phones])
    spans = phoneme_intervals(ipa, phones, taken)
    durations = durations_in_frames(tokens, spans, row["num_frames"] * row["hop_length"] / row["sample_rate"],
                                     row["sample_rate"], row["hop_length"])
    if sum(durations) != row["num_frames"]:
        raise DataError("re-derived durations do not cover the clip", received=sum(durations),
                        expected=row["num_frames"], fix=f"check row {row.get('index')}: {row['text']!r}")
    return lexicon.tokenizer.encode_phonemes(tokens), durations


def load_examples(root: Path, rows: list, lexicon, desc: str = "features") -> list[dict]:
    """[{token_ids, durations, mel, waveform, text}], mels by synthesis_protocol.clip_mels (batched)."""
    from tqdm.auto import tqdm

    from zoo.audio import read_audio
    from zoo.families.synthesis.synthesis_protocol import clip_mels

    out = []
    for row in tqdm(rows, desc=desc, unit="clip", mininterval=2.0):
        ids, durations = lexicon_durations(lexicon, row)
        wave, _ = read_audio(root / row["path"], sample_rate=row["sample_rate"], mono=True)
        out.append({"token_ids": np.asarray(ids, np.int32), "durations": np.asarray(durations, np.int32),
                    "waveform": wave.astype(np.float32), "text": row["text"]})
    for example, mel in zip(out, clip_mels([e["waveform"] for e in out])):
        example["mel"] = mel.astype(np.float32)
    return out


def make_dataset(examples: list, batch_size: int, *, shuffle: bool, seed: int):
    import tensorflow as tf

    def gen():
        order = np.random.default_rng(seed).permutation(len(examples)) if shuffle else range(len(examples))
        for i in order:
            e = examples[i]
            yield {"token_ids": e["token_ids"], "durations": e["durations"]}, e["mel"]

    ds = tf.data.Dataset.from_generator(gen, output_signature=(
        {"token_ids": tf.TensorSpec([None], tf.int32), "durations": tf.TensorSpec([None], tf.int32)},
        tf.TensorSpec([None, examples[0]["mel"].shape[1]], tf.float32)))
    if shuffle:
        ds = ds.shuffle(256, seed=seed, reshuffle_each_iteration=True).repeat()
    # Similar lengths share a batch: less padding, faster steps.
    return ds.bucket_by_sequence_length(lambda x, y: tf.shape(y)[0], [100, 140, 180, 220, 280, 360],
                                        [batch_size] * 7, drop_remainder=False).prefetch(2)


def make_trainer(backbone, duration_loss_weight: float):
    import keras
    import tensorflow as tf

    class FastSpeechTrainer(keras.Model):
        """Teacher-forced training of an acoustic model: masked mel L1 + log-duration MSE."""

        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.trackers = {k: keras.metrics.Mean(name=k) for k in ("loss", "mel_l1", "duration_mse")}

        @property
        def metrics(self):
            return list(self.trackers.values())

        def losses_of(self, x, mel, training):
            out = self.backbone(x, training=training)
            frames = tf.shape(mel)[1]
            pred = out["mel"][:, :frames]
            valid = tf.cast(tf.range(frames)[None, :] < out["mel_length"][:, None], tf.float32)[:, :, None]
            mel_l1 = tf.reduce_sum(tf.abs(pred - mel) * valid) / (tf.reduce_sum(valid) * float(mel.shape[-1]))
            real = tf.cast(x["token_ids"] > 0, tf.float32)  # phonemes and boundaries (pauses)
            target = tf.math.log1p(tf.cast(x["durations"], tf.float32))
            duration_mse = tf.reduce_sum(tf.square(out["log_durations"] - target) * real) / tf.reduce_sum(real)
            return mel_l1 + duration_loss_weight * duration_mse, mel_l1, duration_mse

        def train_step(self, data):
            x, mel = data
            with tf.GradientTape() as tape:
                loss, mel_l1, duration_mse = self.losses_of(x, mel, True)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            return self._update(loss, mel_l1, duration_mse)

        def test_step(self, data):
            x, mel = data
            return self._update(*self.losses_of(x, mel, False))

        def _update(self, loss, mel_l1, duration_mse):
            for key, value in (("loss", loss), ("mel_l1", mel_l1), ("duration_mse", duration_mse)):
                self.trackers[key].update_state(value)
            return {k: t.result() for k, t in self.trackers.items()}

    return FastSpeechTrainer()


def evaluate_tts_model(task, examples: list) -> dict:
    """Test metrics of the acoustic model: mel L1 teacher-forced and free-running (over the shorter
    length) and duration MAE in frames. (Audio metrics are in `intelligibility`.)"""
    import tensorflow as tf

    backbone = task.backbone
    forced, free, duration_err = [], [], []
    for e in examples:
        x = {"token_ids": tf.constant(e["token_ids"][None]), "durations": tf.constant(e["durations"][None])}
        out = backbone(x, training=False)
        forced.append(float(np.mean(np.abs(out["mel"].numpy()[0] - e["mel"]))))
        pred = backbone({"token_ids": x["token_ids"]}, training=False)
        n = min(int(pred["mel_length"][0]), len(e["mel"]))
        free.append(float(np.mean(np.abs(pred["mel"].numpy()[0, :n] - e["mel"][:n]))))
        duration_err.append(float(np.mean(np.abs(pred["durations"].numpy()[0] - e["durations"]))))
    return {"num_sentences": len(examples), "mel_l1_teacher_forced": round(float(np.mean(forced)), 4),
            "mel_l1_free_running": round(float(np.mean(free)), 4),
            "duration_mae_frames": round(float(np.mean(duration_err)), 3)}


def train_tts(preset_name: str, overrides: dict | None = None, *, verbose: int = 2) -> dict:
    import keras

    from training.corpora.registry import make_corpus
    from training.manifest import read_manifest

    preset = get_preset(preset_name)
    exp = TTSExperiment.from_preset(preset, overrides)
    run_dir = Path(exp.output_dir) / preset.name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "experiment.json").write_text(json.dumps(dataclasses.asdict(exp), indent=2) + "\n")
    keras.utils.set_random_seed(exp.seed)
    manifest = make_corpus(preset.data["corpus"], Path(exp.data_root), seed=0, scale="full")
    root = manifest.parent
    rows = read_manifest(manifest, required=("path", "split", "text", "flite_phones", "num_frames"))
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    task = build_task(preset)
    if exp.init_weights:
        task.load_weights(exp.init_weights)
    data = {s: load_examples(root, split[s], task.lexicon, desc=f"{s} features") for s in split}
    trainer = make_trainer(task.backbone, exp.duration_loss_weight)
    trainer.compile(optimizer=keras.optimizers.AdamW(exp.learning_rate, weight_decay=1e-6, clipnorm=exp.clipnorm))
    train_ds = make_dataset(data["train"], exp.batch_size, shuffle=True, seed=exp.seed)
    val_ds = make_dataset(data["validation"], exp.batch_size, shuffle=False, seed=exp.seed)
    steps = max(1, len(data["train"]) // exp.batch_size)
    best = run_dir / "best.weights.h5"

    class KeepBest(keras.callbacks.Callback):  # the task's weights (the trainer only wraps its backbone)
        best = np.inf

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < self.best:
                self.best = logs["val_loss"]
                task.save_weights(str(best))

    callbacks = [KeepBest(), keras.callbacks.EarlyStopping(monitor="val_loss", patience=exp.patience),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),
                 keras.callbacks.CSVLogger(str(run_dir / "history.csv")), time_budget(exp.time_budget_min)]
    print(f"training {preset.name}: {task.backbone.count_params():,} params, {len(data['train'])} sentences, "
          f"batch {exp.batch_size}, budget {exp.time_budget_min} min")
    start = time.perf_counter()
    trainer.fit(train_ds, validation_data=val_ds, epochs=exp.epochs, steps_per_epoch=steps, callbacks=callbacks,
                verbose=verbose)
    train_seconds = time.perf_counter() - start
    if best.exists():
        task.load_weights(str(best))
    task.save_weights(str(run_dir / WEIGHTS_FILE))
    (run_dir / "train_time.json").write_text(json.dumps({"train_seconds": train_seconds}) + "\n")
    return finish_run(task, exp, preset, data["test"][:exp.test_examples], run_dir, rows, root)


def intelligibility(task, rows: list, root: Path, out_dir: Path, num_sentences: int = 60) -> dict:
    """training.synthesis_eval.evaluate_tts on the first `num_sentences` test sentences (PocketSphinx
    and the zoo recognizer on synthesized vs reference audio); writes intelligibility.{json,md}."""
    from training.synthesis_eval import evaluate_tts, format_markdown

    def synthesize(text):
        return task.predict_text(text)["waveform"], task.sample_rate

    result = evaluate_tts(synthesize, rows, root, num_sentences=num_sentences)
    (out_dir / "intelligibility.md").write_text(format_markdown(result, f"{task.name}: intelligibility"))
    (out_dir / "intelligibility.json").write_text(json.dumps(result, indent=1) + "\n")
    def r(x):
        return round(float(x), 4)

    return {"sentences": result["num_sentences"],
            "pocketsphinx_wer_reference": r(result["pocketsphinx"]["reference"]["wer"]),
            "pocketsphinx_wer_synthesized": r(result["pocketsphinx"]["synthesized"]["wer"]),
            "pocketsphinx_wer_ratio": r(result["pocketsphinx"]["wer_ratio"]),
            "zoo_wer_reference": r(result["zoo"]["reference"]["wer"]),
            "zoo_wer_synthesized": r(result["zoo"]["synthesized"]["wer"]),
            "mcd_db": r(result["mcd_db"]), "mr_stft": r(result["mr_stft"]["total"]),
            "real_time_factor": r(result["real_time_factor"]), "gate_passed": result["gate"]["passed"]}


def finish_run(task, exp, preset, test_examples, run_dir, rows, root) -> dict:
    summary = {
        "preset": preset.name,
        "corpus": preset.data["corpus"],
        "test": evaluate_tts_model(task, test_examples),
        "intelligibility": intelligibility(task, rows, root, run_dir),
        **run_record(run_dir, task),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


def main(argv=None):
    import argparse

    from training.experiment import parse_set_args

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--eval-only", action="store_true", help="evaluate runs/PRESET/model.weights.h5 again")
    args = parser.parse_args(argv)
    if not args.eval_only:
        train_tts(args.preset, parse_set_args(args.set))
        return
    from training.manifest import read_manifest

    preset = get_preset(args.preset)
    exp = TTSExperiment.from_preset(preset, parse_set_args(args.set))
    run_dir = Path(exp.output_dir) / preset.name
    task = build_task(preset)
    task.load_weights(str(run_dir / WEIGHTS_FILE))
    root = Path(exp.data_root) / preset.data["corpus"]
    rows = read_manifest(root / "manifest.jsonl", required=("path", "split", "text", "flite_phones", "num_frames"))
    test = load_examples(root, [r for r in rows if r["split"] == "test"][:exp.test_examples], task.lexicon, "test")
    finish_run(task, exp, preset, test, run_dir, rows, root)


if __name__ == "__main__":
    main()
