"""Train a small mel-conditioned WaveNet vocoder on tts-slt-synth with teacher forcing, for a time budget.

    python -m training.wavenet_train --budget-minutes 15 --out runs/wavenet_slt

Random crops of `crop_frames` frames (crop_frames * 200 samples) from the train split, each with the
class of the sample before the crop as its first input; cross-entropy over the 256 mu-law classes.
Validation: one fixed crop from the middle of every validation clip (cross-entropy in nats and
bits, top-1 accuracy, accuracy within +-2 classes), every `eval_every_s` seconds; the best
validation cross-entropy is kept. Writes <out>/wavenet_slt.keras and <out>/metrics.json.
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

CORPUS = "tts-slt-synth"


@dataclass
class WaveNetExperiment:
    data_root: str = "data"
    out: str = "runs/wavenet_slt"
    budget_minutes: float = 15.0
    seed: int = 0
    crop_frames: int = 8
    batch_size: int = 8
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    max_train_clips: int = 1000  # enough crops for a CPU budget, fast to load
    eval_every_s: float = 120.0
    backbone: dict = field(default_factory=lambda: dict(num_stacks=2, layers_per_stack=8, kernel_size=2,
                                                        residual_channels=32, skip_channels=64))


def load_split(root: Path, split: str, limit: int | None, rng=None):
    """[(classes i32[N * 200], mel f32[N, 80])] of one split (mu-law classes of the clip, its clip_mel)."""
    from zoo.audio import read_audio
    from zoo.families.synthesis.synthesis_protocol import HOP, TTS_MEL, clip_mel, tts_mel_frontend
    from zoo.families.synthesis.wavenet.mu_law import mu_law_encode

    manifest = root / CORPUS / "manifest.jsonl"
    if not manifest.exists():
        raise DataError(f"{CORPUS} manifest not found", received=str(manifest), expected="a generated corpus",
                        fix=f"run `zoo data make {CORPUS}` (or pass --data-root)")
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        raise DataError(f"{CORPUS} has no {split} clips", received=str(manifest), expected=f"rows with split={split}")
    if rng is not None:
        rng.shuffle(rows)
    frontend = tts_mel_frontend()
    clips = []
    for row in rows[:limit]:
        audio, _ = read_audio(root / CORPUS / row["path"], sample_rate=TTS_MEL["sample_rate"])
        audio = audio[:row["num_frames"] * HOP]
        mel = clip_mel(audio[None], frontend).numpy()[0]
        clips.append((mu_law_encode(np.clip(audio, -1.0, 1.0)), mel))
    return clips


def crop(clip, start_frame, frames, start_class, hop=200):
    """(inputs i32[frames * hop], targets i32[frames * hop], mel f32[frames, 80]) of one clip."""
    classes, mel = clip
    a, b = start_frame * hop, (start_frame + frames) * hop
    prev = classes[a - 1] if a > 0 else start_class
    targets = classes[a:b]
    return np.concatenate([[prev], targets[:-1]]).astype(np.int32), targets, mel[start_frame:start_frame + frames]


def random_batch(clips, exp, rng, start_class):
    out = []
    for _ in range(exp.batch_size):
        clip = clips[rng.integers(len(clips))]
        n = clip[1].shape[0]
        start = int(rng.integers(0, max(1, n - exp.crop_frames + 1)))
        out.append(crop(clip, start, exp.crop_frames, start_class))
    return [np.stack(x) for x in zip(*out)]


def validation_batches(clips, exp, start_class, batch=10):
    crops = [crop(c, max(0, (c[1].shape[0] - exp.crop_frames) // 2), exp.crop_frames, start_class) for c in clips
             if c[1].shape[0] >= exp.crop_frames]
    return [[np.stack(x) for x in zip(*crops[i:i + batch])] for i in range(0, len(crops), batch)]


def train(exp: WaveNetExperiment):
    import keras
    import tensorflow as tf

    from zoo.families.synthesis.wavenet.wavenet_backbone import WaveNetBackbone

    if exp.budget_minutes <= 0:
        raise ConfigError("--budget-minutes must be > 0", received=exp.budget_minutes, expected="e.g. 15")
    keras.utils.set_random_seed(exp.seed)
    rng = np.random.default_rng(exp.seed)
    out = Path(exp.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    root = Path(exp.data_root)
    train_clips = load_split(root, "train", exp.max_train_clips, rng)
    val_clips = load_split(root, "validation", None)
    load_s = time.time() - t0
    print(f"loaded {len(train_clips)} train / {len(val_clips)} validation clips in {load_s:.0f} s", flush=True)

    model = WaveNetBackbone(**exp.backbone, num_speakers=1, name="wavenet_slt")
    start_class = model.start_class
    opt = keras.optimizers.Adam(exp.learning_rate, clipnorm=exp.clipnorm)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    speaker = tf.zeros([exp.batch_size], tf.int32)  # one voice: global conditioning has a single id

    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets, mel):
        with tf.GradientTape() as tape:
            logits = model({"waveform_classes": inputs, "mel": mel, "speaker_id": speaker}, training=True)["logits"]
            loss = ce(targets, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function(reduce_retracing=True)
    def eval_step(inputs, targets, mel):
        spk = tf.zeros(tf.shape(inputs)[:1], tf.int32)
        logits = model({"waveform_classes": inputs, "mel": mel, "speaker_id": spk})["logits"]
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
        pred = tf.argmax(logits, -1, output_type=tf.int32)
        return (tf.reduce_sum(nll), tf.reduce_sum(tf.cast(pred == targets, tf.float32)),
                tf.reduce_sum(tf.cast(tf.abs(pred - targets) <= 2, tf.float32)))

    val = validation_batches(val_clips, exp, start_class)

    def evaluate():
        tot = np.zeros(3)
        count = 0
        for inputs, targets, mel in val:
            tot += [float(v) for v in eval_step(inputs, targets.astype(np.int32), mel)]
            count += targets.size
        return {"cross_entropy_nats": tot[0] / count, "bits_per_sample": tot[0] / count / np.log(2),
                "accuracy": tot[1] / count, "accuracy_within_2": tot[2] / count, "samples": count}

    history, best, step, ema = [], None, 0, None
    budget_s = exp.budget_minutes * 60.0
    start = last_eval = time.time()
    weights = out / "best.weights.h5"
    while True:
        inputs, targets, mel = random_batch(train_clips, exp, rng, start_class)
        loss = float(train_step(inputs, targets.astype(np.int32), mel))
        step += 1
        ema = loss if ema is None else 0.98 * ema + 0.02 * loss
        now = time.time()
        done = now - start >= budget_s
        if done or now - last_eval >= exp.eval_every_s or step == 1:
            metrics = evaluate()
            history.append({"step": step, "minutes": (now - start) / 60, "train_loss_ema": ema, **metrics})
            print(f"step {step} {(now - start) / 60:.1f} min train {ema:.3f} val ce {metrics['cross_entropy_nats']:.3f} "
                  f"acc {metrics['accuracy']:.3f}", flush=True)
            if best is None or metrics["cross_entropy_nats"] < best["cross_entropy_nats"]:
                best = {"step": step, **metrics}
                model.save_weights(weights)
            last_eval = time.time()
        if done:
            break
    train_s = time.time() - start
    model.load_weights(weights)
    weights.unlink()
    model.save(out / "wavenet_slt.keras")
    summary = {
        "corpus": CORPUS, "experiment": dataclasses.asdict(exp), "config": model.get_config(),
        "params": int(model.count_params()), "receptive_field_samples": model.receptive_field,
        "steps": step, "train_seconds": train_s, "load_seconds": load_s,
        "samples_seen": step * exp.batch_size * exp.crop_frames * 200,
        "validation_best": best, "history": history,
        "validation_protocol": "one centred crop of crop_frames frames per validation clip, teacher forcing",
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: summary[k] for k in ("params", "steps", "train_seconds", "validation_best")}), flush=True)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=15.0)
    parser.add_argument("--out", default="runs/wavenet_slt")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train-clips", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop-frames", type=int, default=8)
    args = parser.parse_args(argv)
    train(WaveNetExperiment(data_root=args.data_root, out=args.out, budget_minutes=args.budget_minutes,
                            seed=args.seed, max_train_clips=args.max_train_clips, batch_size=args.batch_size,
                            crop_frames=args.crop_frames))


if __name__ == "__main__":
    main()
