"""Train a GAN vocoder (zoo.families.synthesis.gan_vocoder) on tts-slt-synth, score it against
Griffin-Lim on the test split, and export its generator to TFLite behind a parity gate.

    python -m training.vocoder_train --budget-minutes 25 --out runs/voc_gan_slt

Training examples are random crops of crop_frames mel frames and the crop_frames * HOP samples
they stand for. The mel is computed once per whole clip with the synthesis contract (clip_mel:
the clip padded by MEL_PAD), so a crop's frames are exactly what the vocoder sees at inference.
The run writes generator.keras (safe_mode loadable), gan_vocoder.keras (with the discriminators),
generator.tflite + parity.json (batch 1, fixed frames) and metrics.json.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import DataError
from zoo.families.synthesis.synthesis_protocol import HOP, MEL_PAD, TTS_CORPUS, TTS_MEL, clip_mels



@dataclass
class VocoderExperiment:
    data_root: str = "data"
    out: str = "runs/voc_gan_slt"
    seed: int = 0
    budget_minutes: float = 25.0
    crop_frames: int = 80  # 1 s
    batch_size: int = 8
    warmup_steps: int = 2000
    learning_rate: float = 2e-4
    steps_per_epoch: int = 50
    train_limit: int = 0  # 0: every training clip
    test_limit: int = 0  # 0: the whole test split
    griffin_lim_iterations: int = 32


# ----------------------------------------------------------------------------- data
def load_split(data_root, split: str, limit: int = 0) -> list[np.ndarray]:
    """Waveforms [num_frames * HOP] of one split of the tts-slt-synth manifest (manifest order)."""
    from zoo.audio import read_audio

    root = Path(data_root) / TTS_CORPUS["corpus"]
    manifest = root / "manifest.jsonl"
    if not manifest.exists():
        raise DataError("the tts-slt-synth corpus is missing", received=str(manifest),
                        expected="a generated corpus with manifest.jsonl",
                        fix="python -m zoo data make tts-slt-synth --root data")
    waves = []
    with open(manifest) as f:
        for line in f:
            row = json.loads(line)
            if row["split"] != split:
                continue
            wave, sr = read_audio(root / row["path"])
            n = int(row["num_frames"]) * HOP
            if sr != TTS_MEL["sample_rate"] or len(wave) != n:
                raise DataError("a tts-slt-synth clip breaks the mel contract", received=f"{row['path']}: {sr} Hz, "
                                f"{len(wave)} samples", expected=f"{TTS_MEL['sample_rate']} Hz, num_frames * {HOP}",
                                fix="regenerate the corpus with python -m zoo data make tts-slt-synth")
            waves.append(wave.astype(np.float32))
            if limit and len(waves) >= limit:
                break
    if not waves:
        raise DataError(f"no {split} clips in the manifest", received=str(manifest), expected="train/validation/test")
    return waves


def crop_dataset(waves, mels, crop_frames: int, batch_size: int, seed: int):
    """Endless tf.data of (mel [B, crop_frames, 80], waveform [B, crop_frames * HOP]) random crops."""
    import tensorflow as tf

    keep = [i for i, m in enumerate(mels) if len(m) >= crop_frames]
    if not keep:
        raise DataError("every clip is shorter than the crop", received=f"crop_frames={crop_frames}",
                        expected="clips of at least crop_frames frames", fix="lower crop_frames")

    def examples():
        rng = np.random.default_rng(seed)
        while True:
            i = keep[rng.integers(len(keep))]
            start = int(rng.integers(len(mels[i]) - crop_frames + 1))
            yield (mels[i][start:start + crop_frames],
                   waves[i][start * HOP:(start + crop_frames) * HOP])

    spec = (tf.TensorSpec([crop_frames, TTS_MEL["num_mel_bins"]], tf.float32),
            tf.TensorSpec([crop_frames * HOP], tf.float32))
    return tf.data.Dataset.from_generator(examples, output_signature=spec).batch(batch_size,
                                                                                  drop_remainder=True).prefetch(2)


# ----------------------------------------------------------------------------- evaluation
def griffin_lim(iterations: int = 32):
    """GriffinLimVocoder configured from TTS_MEL (its output is cropped by MEL_PAD per side)."""
    from zoo.families.synthesis.griffin_lim.griffin_lim_vocoder import GriffinLimVocoder

    return GriffinLimVocoder(**TTS_MEL, num_iterations=iterations)


def griffin_lim_waveform(vocoder, mel) -> np.ndarray:
    """N frames -> N * HOP samples: (N - 1) * HOP + frame_length samples minus MEL_PAD per side."""
    out = np.asarray(vocoder(mel[None]))[0]
    return out[MEL_PAD:len(out) - MEL_PAD]


def _scores(reference, estimate) -> dict:
    import librosa

    from zoo.metrics.synthesis import mel_cepstral_distortion, mr_stft_distance

    # MCD on the reference's non-silent span (silent frames match cheaply and dilute the mean).
    _, (a, b) = librosa.effects.trim(reference, top_db=40)
    mr = mr_stft_distance(reference, estimate)
    return {"mr_stft": mr["total"], "spectral_convergence": mr["spectral_convergence"],
            "log_magnitude": mr["log_magnitude"],
            "mcd_db": mel_cepstral_distortion(reference[a:b], estimate[a:b], TTS_MEL["sample_rate"])}


def evaluate(generator, waves, mels, griffin_lim_iterations: int = 32) -> dict:
    """Mean MR-STFT distance and MCD of the generator and of Griffin-Lim on the same ground-truth
    mels, against the original waveforms."""
    import tensorflow as tf

    gen = tf.function(lambda m: generator(m, training=False), reduce_retracing=True)
    gl = griffin_lim(griffin_lim_iterations)
    rows = {"gan_vocoder": [], "griffin_lim": []}
    for wave, mel in zip(waves, mels):
        rows["gan_vocoder"].append(_scores(wave, np.asarray(gen(mel[None]))[0]))
        rows["griffin_lim"].append(_scores(wave, griffin_lim_waveform(gl, mel)))
    return {name: {k: float(np.mean([r[k] for r in v])) for k in v[0]} | {"clips": len(v)}
            for name, v in rows.items()}


# ----------------------------------------------------------------------------- export
# ----------------------------------------------------------------------------- training
def train(exp: VocoderExperiment) -> dict:
    import keras

    from export.parity import enforce, write_report
    from export.vocoder import convert_vocoder, keras_vs_tflite_vocoder, probe_mel
    from zoo.families.synthesis.gan_vocoder.gan_vocoder import GanVocoder
    from zoo.families.synthesis.gan_vocoder.gan_vocoder_generator import GanVocoderGenerator

    keras.utils.set_random_seed(exp.seed)
    out = Path(exp.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    waves = load_split(exp.data_root, "train", exp.train_limit)
    mels = clip_mels(waves)
    print(f"{len(waves)} training clips ({sum(map(len, waves)) / TTS_MEL['sample_rate'] / 60:.1f} min) "
          f"loaded in {time.time() - t0:.0f} s", flush=True)
    data = crop_dataset(waves, mels, exp.crop_frames, exp.batch_size, exp.seed)
    model = GanVocoder(GanVocoderGenerator(), warmup_steps=exp.warmup_steps)
    model.compile(keras.optimizers.Adam(exp.learning_rate, beta_1=0.5, beta_2=0.9),
                  keras.optimizers.Adam(exp.learning_rate, beta_1=0.5, beta_2=0.9))
    budget_s = exp.budget_minutes * 60.0
    start = time.time()

    class Budget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.time() - start > budget_s:
                self.model.stop_training = True

    history = model.fit(data, epochs=100000, steps_per_epoch=exp.steps_per_epoch, callbacks=[Budget()], verbose=2)
    train_s = time.time() - start
    steps = int(model.generator_optimizer.iterations.numpy())
    gan_steps = int(model.discriminator_optimizer.iterations.numpy())
    generator = model.generator
    generator.save(out / "generator.keras")
    model.save(out / "gan_vocoder.keras")
    print(f"trained {steps} steps ({gan_steps} adversarial) in {train_s / 60:.1f} min", flush=True)

    content = convert_vocoder(generator)
    (out / "generator.tflite").write_bytes(content)
    gate = keras_vs_tflite_vocoder(generator, content, probe_mel())
    write_report([gate], out, artifact="generator.tflite")
    enforce([gate])

    test_waves = load_split(exp.data_root, "test", exp.test_limit)
    scores = evaluate(generator, test_waves, clip_mels(test_waves), exp.griffin_lim_iterations)
    metrics = {"experiment": dataclasses.asdict(exp), "params": int(generator.count_params()),
               "steps": steps, "adversarial_steps": gan_steps, "train_minutes": train_s / 60.0,
               "final_logs": {k: float(v[-1]) for k, v in history.history.items()},
               "tflite_parity_max_abs_diff": gate.value, "tflite_bytes": len(content), "test": scores}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = VocoderExperiment()
    parser.add_argument("--budget-minutes", type=float, default=defaults.budget_minutes)
    parser.add_argument("--out", default=defaults.out)
    parser.add_argument("--data-root", default=defaults.data_root)
    parser.add_argument("--warmup-steps", type=int, default=defaults.warmup_steps,
                        help="generator steps on the MR-STFT loss alone before the GAN losses start")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--crop-frames", type=int, default=defaults.crop_frames)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--test-limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    exp = VocoderExperiment(data_root=args.data_root, out=args.out, seed=args.seed, budget_minutes=args.budget_minutes,
                            crop_frames=args.crop_frames, batch_size=args.batch_size, warmup_steps=args.warmup_steps,
                            train_limit=args.train_limit, test_limit=args.test_limit)
    metrics = train(exp)
    test = metrics["test"]
    print(json.dumps({"steps": metrics["steps"], "adversarial_steps": metrics["adversarial_steps"],
                      "gan_vocoder": test["gan_vocoder"], "griffin_lim": test["griffin_lim"]}, indent=1))


if __name__ == "__main__":
    main()
