"""`zoo train PRESET` for SourceSeparator presets: fixed-length random crops -> PIT / SI-SDR training.

Two-speaker corpora (speech-mixtures-2spk*): the mixture is the manifest's mixture file and the
targets its `sources`; the loss is permutation-invariant negative SI-SDR. Enhancement (noisy-speech):
the mixture is the noisy file, the one target the clean speech; the loss is negative SI-SDR (plus
a multi-resolution STFT loss with loss="si_sdr_mrstft", or a differentiable STOI with
loss="si_sdr_stoi", weighted by stoi_weight). Crops are drawn by a seeded numpy
generator in a tf.data pipeline; validation uses fixed crops from the start of each utterance.
With dynamic_mix > 0 that share of the training examples is mixed on the fly from parts of different
examples (`dynamic_mixture`). Bounded by a time budget, early-stopped on validation loss, best
checkpoint kept. Evaluation on the test split (whole utterances): SI-SDRi, SDR/SIR/SAR (two
speakers) or PESQ/STOI/SI-SDR gains over the noisy input (enhancement), written to summary.json.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.recipe import continued_from, experiment_from_preset, run_record, time_budget
from zoo.errors import ConfigError
from zoo.presets import WEIGHTS_FILE, build_task, get_preset

LOSSES = ("pit_si_sdr", "si_sdr", "si_sdr_mrstft", "si_sdr_stoi", "pit_psa", "pit_magnitude")


@dataclass
class SeparationExperiment:
    preset: str
    data_root: str = "data"
    output_dir: str = "runs"
    seed: int = 0
    crop_seconds: float = 2.0
    batch_size: int = 8
    learning_rate: float = 1e-3
    clipnorm: float = 5.0
    loss: str = "pit_si_sdr"
    steps_per_epoch: int = 100
    epochs: int = 1000  # the time budget or early stopping ends training first
    patience: int = 6
    time_budget_min: float = 10.0
    validation_examples: int = 128
    test_examples: int = 300  # whole test utterances scored (the full split is 1000-1500)
    init_weights: str = ""  # start from these weights (a previous run's model.weights.h5): fine-tuning
    dynamic_mix: float = 0.0  # share of training examples mixed on the fly from parts of other examples
    stoi_weight: float = 100.0  # loss="si_sdr_stoi": -SI-SDR (dB) + stoi_weight (1 - STOI); beat 30 on validation

    @classmethod
    def from_preset(cls, preset, overrides=None):
        exp = experiment_from_preset(cls, preset, overrides, "separation training")
        if exp.loss not in LOSSES:
            raise ConfigError("unknown separation loss", received=exp.loss, expected=list(LOSSES))
        if not 0.0 <= exp.dynamic_mix <= 1.0:
            raise ConfigError("dynamic_mix is a share of the training examples", received=exp.dynamic_mix,
                              expected="a number in [0, 1]", fix="e.g. --set dynamic_mix=0.5")
        return exp


def _read(path):
    import soundfile as sf

    audio, _ = sf.read(str(path), dtype="float32", always_2d=False)
    return audio


def load_example(root: Path, row: dict):
    """(mixture f32[T], sources f32[S, T]) of one manifest row."""
    mixture = _read(root / row["path"])
    sources = np.stack([_read(root / p) for p in row["sources"]])
    return mixture, sources


def _crop(mixture, sources, n, start):
    if mixture.size < n:
        pad = n - mixture.size
        return np.pad(mixture, (0, pad)), np.pad(sources, ((0, 0), (0, pad)))
    return mixture[start:start + n], sources[:, start:start + n]


def _played_faster(audio, n, speed, rng):
    """A random n-sample crop of `audio` played `speed` times faster (band-limited resampling by the
    ratio 1/speed): every frequency scaled by `speed`, every event shortened by it."""
    from zoo.audio import crop_or_pad, resample

    part = crop_or_pad(audio, int(np.ceil(n * speed)), offset="random", rng=rng)
    # resample() takes rates; only their ratio matters, so use a reference rate both stay valid at
    return crop_or_pad(resample(part, int(round(48000 * speed)), 48000), n)


# Dynamic mixing levels: each speaker or stem within +-2.5 dB of its recorded level (the two-speaker
# corpora's SIR range is 0..5 dB); speech-to-noise ratio as drawn by the noisy-speech corpus. A noise
# is also played 0.8-1.25x as fast, so a few hundred recordings yield unheard spectra (issue 7: the
# denoiser's intelligibility gain did not carry over to the test split's noises).
DYNAMIC_GAIN_DB = 2.5
NOISE_SPEED = (0.8, 1.25)
PEAK_MAX = 0.99


def dynamic_mixture(root: Path, rows: list, crop: int, rng):
    """A training example mixed on the fly (dynamic mixing, Zeghidour & Grangier 2021): combinations
    of voices, noises and levels the fixed corpus never wrote. Denoising rows (with a `noise` file):
    the speech of one example plus the noise of another, sped up or slowed down by a factor in
    NOISE_SPEED, at an SNR drawn from the corpus's range.
    Otherwise each source slot (speaker or stem) comes from its own example, at a level within
    +-DYNAMIC_GAIN_DB of its recorded one. The mixture is the exact sum of the returned sources."""
    from training.corpora.noisy_speech import SNR_RANGE_DB
    from zoo.audio import crop_or_pad, mix_at_snr
    from zoo.errors import AudioError

    def part(key, k=0):
        row = rows[int(rng.integers(len(rows)))]
        audio = _read(root / (row[key][k] if key == "sources" else row[key]))
        if key == "noise":
            return _played_faster(audio, crop, rng.uniform(*NOISE_SPEED), rng)
        return crop_or_pad(audio, crop, offset="random", rng=rng)

    if "noise" in rows[0]:
        clean, noise = part("sources"), part("noise")
        try:
            mixture = mix_at_snr(clean, noise, rng.uniform(*SNR_RANGE_DB))
        except AudioError:  # a silent crop has no level to set: mix as recorded
            mixture = clean + noise
        sources = clean[None]
    else:
        sources = np.stack([part("sources", k) * 10.0 ** (rng.uniform(-DYNAMIC_GAIN_DB, DYNAMIC_GAIN_DB) / 20.0)
                            for k in range(len(rows[0]["sources"]))])
        mixture = sources.sum(0)
    peak = max(np.abs(mixture).max(), np.abs(sources).max())
    if peak > PEAK_MAX:  # one common scale keeps mixture == sum of sources (and SNR) exact
        mixture, sources = mixture * (PEAK_MAX / peak), sources * (PEAK_MAX / peak)
    return mixture.astype(np.float32), sources.astype(np.float32)


def make_train_dataset(root: Path, rows: list, crop: int, batch_size: int, seed: int, dynamic_mix: float = 0.0):
    import tensorflow as tf

    num_sources = len(rows[0]["sources"])

    def gen():
        rng = np.random.default_rng(seed)
        while True:
            if dynamic_mix > 0 and rng.random() < dynamic_mix:
                mixture, sources = dynamic_mixture(root, rows, crop, rng)
            else:
                row = rows[int(rng.integers(len(rows)))]
                mixture, sources = load_example(root, row)
                start = int(rng.integers(0, max(1, mixture.size - crop + 1)))
                mixture, sources = _crop(mixture, sources, crop, start)
            yield {"mixture": mixture, "mixture_length": np.int32(crop)}, {"sources": sources}

    spec = ({"mixture": tf.TensorSpec([crop], tf.float32), "mixture_length": tf.TensorSpec([], tf.int32)},
            {"sources": tf.TensorSpec([num_sources, crop], tf.float32)})
    return tf.data.Dataset.from_generator(gen, output_signature=spec).batch(batch_size).prefetch(4)


def validation_arrays(root: Path, rows: list, crop: int):
    pairs = [_crop(*load_example(root, row), crop, 0) for row in rows]
    mixture = np.stack([p[0] for p in pairs])
    sources = np.stack([p[1] for p in pairs])
    return {"mixture": mixture, "mixture_length": np.full(len(pairs), crop, np.int32)}, {"sources": sources}


def make_loss(name: str, *, sample_rate: int | None = None, stoi_weight: float = SeparationExperiment.stoi_weight):
    """The Keras loss `name` (LOSSES); si_sdr_stoi needs the waveforms' sample_rate (its bands and frames)."""
    from zoo.losses.pit_loss import PermutationInvariantLoss
    from zoo.losses.si_sdr_loss import NegativeSISDR

    if name == "pit_si_sdr":  # the STFT losses below need TensorFlow; this one runs on any Keras backend
        return PermutationInvariantLoss(NegativeSISDR())
    if name in ("pit_psa", "pit_magnitude"):  # mask training targets on the masked outputs' spectra
        from zoo.losses.stft_loss import SpectralMSE

        mode = "phase_sensitive" if name == "pit_psa" else "magnitude"
        return PermutationInvariantLoss(SpectralMSE(frame_length=256, frame_step=64, fft_length=256, mode=mode))
    if name == "si_sdr":
        return NegativeSISDR()
    if name == "si_sdr_mrstft":
        from zoo.losses.stft_loss import MultiResolutionSTFTLoss

        sisdr, mrstft = NegativeSISDR(), MultiResolutionSTFTLoss(fft_lengths=(512, 1024, 256),
                                                                 frame_steps=(128, 256, 64),
                                                                 frame_lengths=(512, 1024, 256))

        def si_sdr_mrstft(y_true, y_pred):  # SI-SDR in dB is ~10x the spectral terms' scale
            return sisdr.call(y_true, y_pred) + 10.0 * mrstft.call(y_true, y_pred)

        return si_sdr_mrstft
    if name == "si_sdr_stoi":  # one STOI unit weighs like stoi_weight dB of SI-SDR
        from zoo.losses.stoi_loss import NegativeSTOI

        if sample_rate is None:
            raise ConfigError("loss si_sdr_stoi needs the sample rate", received="sample_rate=None",
                              expected="the preset's rate in Hz", fix="make_loss(..., sample_rate=preset.sample_rate)")
        sisdr, negative_stoi = NegativeSISDR(), NegativeSTOI(sample_rate=int(sample_rate))

        def si_sdr_stoi(y_true, y_pred):
            return sisdr.call(y_true, y_pred) + stoi_weight * negative_stoi.call(y_true, y_pred)

        return si_sdr_stoi
    raise ConfigError("unknown separation loss", received=name, expected=list(LOSSES))


SNR_BAND_DB = 5.0


def snr_band(snr_db: float) -> float:
    """The lower edge of the 5 dB input-SNR band of a noisy example, e.g. 7.3 -> 5.0."""
    return float(SNR_BAND_DB * np.floor(float(snr_db) / SNR_BAND_DB))


def evaluate_separator(task, root: Path, rows: list, *, oracle: bool = True) -> dict:
    """Whole-utterance metrics over `rows` (means). Two or more sources: SI-SDRi, SDR/SIR/SAR (+ the
    oracle masks' SI-SDRi); one source: PESQ, STOI and SI-SDR of the input and of the estimate, and
    their mean gains per 5 dB band of the rows' input SNR (`gain_by_snr_db`, where rows carry snr_db)."""
    from zoo.metrics import separation as m

    acc = {}
    by_band: dict[float, dict] = {}  # one source: the gains per input-SNR band (its lower edge)

    def add(key, value):
        acc.setdefault(key, []).append(float(np.mean(value)))

    start = time.perf_counter()
    for row in rows:
        mixture, sources = load_example(root, row)
        estimate = task.predict_waveform(mixture)["sources"].astype(np.float64)
        if sources.shape[0] > 1:
            add("si_sdri", m.si_sdr_improvement(sources, estimate, mixture))
            bss = m.bss_eval(sources, estimate)
            for k in ("sdr", "sir", "sar"):
                add(k, bss[k])
            add("sdri", bss["sdr"] - m.bss_eval(sources, np.broadcast_to(mixture, sources.shape),
                                                compute_permutation=False)["sdr"])
            if oracle:
                for name, est in m.oracle_masks(sources, mixture, n_fft=256, hop_length=64).items():
                    add(f"oracle_{name}_si_sdri", m.si_sdr_improvement(sources, est, mixture))
        else:
            clean, est, rate = sources[0], estimate[0], task.sample_rate
            add("si_sdr_input", m.si_sdr(clean[None], mixture[None], compute_permutation=False))
            add("si_sdr", m.si_sdr(clean[None], est[None], compute_permutation=False))
            add("pesq_input", m.pesq_score(clean, mixture, rate))
            add("pesq", m.pesq_score(clean, est, rate))
            add("stoi_input", m.stoi_score(clean, mixture, rate))
            add("stoi", m.stoi_score(clean, est, rate))
            if row.get("snr_db") is not None:
                band = snr_band(row["snr_db"])
                gains = by_band.setdefault(band, {})
                for k in ("pesq", "stoi", "si_sdr"):
                    gains.setdefault(f"{k}_gain", []).append(acc[k][-1] - acc[f"{k}_input"][-1])
    out = {k: round(float(np.mean(v)), 4) for k, v in acc.items()}
    if "pesq" in out:
        out.update({f"{k}_gain": round(out[k] - out[f"{k}_input"], 4) for k in ("pesq", "stoi", "si_sdr")})
    if by_band:
        out["gain_by_snr_db"] = {f"{low:g} to {low + SNR_BAND_DB:g}": {
            "examples": len(g["stoi_gain"]), **{k: round(float(np.mean(v)), 4) for k, v in g.items()}}
            for low, g in sorted(by_band.items())}
    out["num_examples"] = len(rows)
    out["eval_seconds"] = round(time.perf_counter() - start, 1)
    return out


def train_separator(preset_name: str, overrides: dict | None = None, *, verbose: int = 2) -> dict:
    import keras

    from training.manifest import read_manifest

    preset = get_preset(preset_name)
    exp = SeparationExperiment.from_preset(preset, overrides)
    run_dir = Path(exp.output_dir) / preset.name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "experiment.json").write_text(json.dumps(dataclasses.asdict(exp), indent=2) + "\n")
    keras.utils.set_random_seed(exp.seed)
    root = Path(exp.data_root) / preset.data["corpus"]
    rows = read_manifest(root / "manifest.jsonl", required=("path", "split", "sources"))
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    if exp.dynamic_mix and len(rows[0]["sources"]) == 1 and "noise" not in rows[0]:
        raise ConfigError(f"dynamic_mix needs the noise of each {preset.data['corpus']} example",
                          received="manifest rows with one source and no `noise` file",
                          expected="rows with two or more sources, or a `noise` file (noisy-speech)",
                          fix="regenerate the corpus with `zoo data make`, or leave dynamic_mix at 0")
    task = build_task(preset)
    if exp.init_weights:
        from zoo.presets import load_weights_verified

        load_weights_verified(task, Path(exp.init_weights), None)
    crop = int(round(exp.crop_seconds * task.sample_rate))
    train_ds = make_train_dataset(root, split["train"], crop, exp.batch_size, exp.seed, exp.dynamic_mix)
    val = validation_arrays(root, split["validation"][:exp.validation_examples], crop)
    task.compile(optimizer=keras.optimizers.Adam(exp.learning_rate, clipnorm=exp.clipnorm),
                 loss={"sources": make_loss(exp.loss, sample_rate=preset.sample_rate,
                                                     stoi_weight=exp.stoi_weight)})
    best = run_dir / "best.weights.h5"

    callbacks = [
        keras.callbacks.ModelCheckpoint(str(best), monitor="val_loss", save_best_only=True, save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=exp.patience),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),  # the paper's schedule
        keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
        time_budget(exp.time_budget_min),
    ]
    print(f"training {preset.name}: {task.count_params():,} params, crops of {exp.crop_seconds} s, "
          f"batch {exp.batch_size}, budget {exp.time_budget_min} min"
          + (f", {exp.dynamic_mix:.0%} of the examples mixed on the fly" if exp.dynamic_mix else ""))
    start = time.perf_counter()
    task.fit(train_ds, validation_data=(val[0], val[1]), validation_batch_size=exp.batch_size, epochs=exp.epochs,
             steps_per_epoch=exp.steps_per_epoch, callbacks=callbacks, verbose=verbose)
    train_seconds = time.perf_counter() - start
    if best.exists():
        task.load_weights(str(best))
    clean = build_task(preset)  # uncompiled: the published file holds no optimizer state (3x smaller)
    clean.set_weights(task.get_weights())
    clean.save_weights(str(run_dir / WEIGHTS_FILE))
    (run_dir / "train_time.json").write_text(json.dumps({"train_seconds": train_seconds}) + "\n")
    return finish_run(task, exp, preset, root, split, run_dir)


def finish_run(task, exp, preset, root, split, run_dir) -> dict:
    """Evaluate the trained task on the test split and write summary.json."""
    metrics = evaluate_separator(task, root, split["test"][:exp.test_examples])
    record = run_record(run_dir, task)
    summary = {
        "preset": preset.name,
        "corpus": preset.data["corpus"],
        "test": metrics,
        **record,
        # runs that count their own crops (accelerator chains of unequal epochs) say so in train_time.json
        "train_examples_seen": record.get("train_examples_seen")
        or record["epochs_run"] * exp.steps_per_epoch * exp.batch_size,
        "algorithmic_latency_ms": task.algorithmic_latency_ms,
    }
    if exp.init_weights:  # a fine-tune: record where it started, so tables can carry the whole cost
        summary["continued_from"] = continued_from(exp.init_weights, ("train_minutes", "train_examples_seen", "test"))
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
        train_separator(args.preset, parse_set_args(args.set))
        return
    from training.manifest import read_manifest

    preset = get_preset(args.preset)
    exp = SeparationExperiment.from_preset(preset, parse_set_args(args.set))
    run_dir = Path(exp.output_dir) / preset.name
    task = build_task(preset)
    task.load_weights(str(run_dir / WEIGHTS_FILE))
    root = Path(exp.data_root) / preset.data["corpus"]
    rows = read_manifest(root / "manifest.jsonl", required=("path", "split", "sources"))
    split = {s: [r for r in rows if r["split"] == s] for s in ("train", "validation", "test")}
    finish_run(task, exp, preset, root, split, run_dir)


if __name__ == "__main__":
    main()
