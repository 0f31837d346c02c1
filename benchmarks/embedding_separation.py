"""Embedding separation (deep clustering, deep attractor network) and mask-based MVDR, side by side.

Trains three small models with their own loops (time-budgeted), saves
them under runs/embedding_separation/, evaluates on the first --test mixtures of the test splits
and writes the "embedding-separation" section of docs/benchmarks.md:

  speech-mixtures-2spk (8 kHz): SI-SDRi and BSS Eval SDR/SIR/SAR (best permutation) of deep
      clustering (k-means -> binary masks), DAN (k-means centres as attractors -> soft masks)
      and the oracle ideal binary mask on the same STFT.
  array-mixtures (16 kHz, 4 mics, speech = all talkers' images at mic 0): SI-SDR and PESQ of the
      reference microphone, mask-based MVDR (network masks averaged over channels) and the
      oracle-mask MVDR (ideal binary masks of mic 0 applied to every channel).

    python benchmarks/embedding_separation.py [--dc-minutes 6 --dan-minutes 6 --mask-minutes 4]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, write_section  # noqa: E402

RUN_DIR = ROOT / "runs" / "embedding_separation"
TWO_SPEAKER = ROOT / "data" / "speech-mixtures-2spk" / "manifest.jsonl"
ARRAY = ROOT / "data" / "array-mixtures" / "manifest.jsonl"
BATCH = 16  # crops per training step, every model


def read_wav(folder, rel):
    import soundfile as sf

    x, _ = sf.read(folder / rel, dtype="float32", always_2d=False)
    return x


def rows_of(manifest, split):
    from training.manifest import read_manifest

    return [r for r in read_manifest(manifest, required=("path", "sources", "split")) if r["split"] == split]


def crop(signals, length, rng):
    """Same random crop (or zero pad) of every signal f[..., samples]."""
    n = signals[0].shape[-1]
    start = int(rng.integers(0, n - length + 1)) if n > length else 0
    out = []
    for s in signals:
        s = s[..., start:start + length]
        out.append(np.pad(s, [(0, 0)] * (s.ndim - 1) + [(0, length - s.shape[-1])]))
    return out


def two_speaker_batch(rows, folder, rng, batch, length, n_fft, hop):
    from zoo.families.separation.deep_clustering import spectral

    mixes, srcs = [], []
    for i in rng.choice(len(rows), size=batch, replace=False):
        r = rows[int(i)]
        mix = read_wav(folder, r["path"])
        src = np.stack([read_wav(folder, p) for p in r["sources"]])
        mix, src = crop([mix, src], length, rng)
        mixes.append(mix)
        srcs.append(src)
    x = spectral.stft(np.stack(mixes), n_fft, hop)  # [B, T, K]
    s = spectral.stft(np.stack(srcs), n_fft, hop)  # [B, S, T, K]
    feats = spectral.log_magnitude(x)
    y = spectral.ideal_binary_masks(s)
    w = spectral.active_bins(x)
    return feats, y, w, np.abs(x).astype(np.float32), np.moveaxis(np.abs(s), 1, -1).astype(np.float32)


def train_embedding(kind, minutes, seed, log):
    import keras
    import tensorflow as tf

    from zoo.families.separation.deep_attractor.deep_attractor_network import DeepAttractorNetwork
    from zoo.families.separation.deep_clustering.deep_clustering_embedder import DeepClusteringEmbedder
    from zoo.losses.embedding_loss import deep_attractor_loss, deep_clustering_loss

    keras.utils.set_random_seed(seed)
    cfg = {"n_fft": 256, "hop": 64, "embedding_dim": 20, "lstm_units": 128, "num_layers": 2, "dropout": 0.0}
    model = (DeepClusteringEmbedder if kind == "dc" else DeepAttractorNetwork)(**cfg)
    opt = keras.optimizers.Adam(1e-3, clipnorm=5.0)
    rows = rows_of(TWO_SPEAKER, "train")
    rng = np.random.default_rng(seed)

    @tf.function(reduce_retracing=True)
    def step(feats, y, w, mag, src):
        with tf.GradientTape() as tape:
            if kind == "dc":
                loss = tf.reduce_mean(deep_clustering_loss(model(feats, training=True), y, w))
            else:
                masks, _ = model.oracle_masks(feats, y, w, training=True)
                loss = tf.reduce_mean(deep_attractor_loss(masks, mag, src))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    start, steps, history = time.time(), 0, []
    while time.time() - start < minutes * 60:
        batch = two_speaker_batch(rows, TWO_SPEAKER.parent, rng, BATCH, 8000, cfg["n_fft"], cfg["hop"])
        history.append(float(step(*batch)))
        steps += 1
        if steps % 50 == 0:
            log(f"{kind} step {steps} loss {np.mean(history[-50:]):.4f} ({time.time() - start:.0f} s)")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    model.save(RUN_DIR / f"{kind}.keras")
    return model, training_stats(model, steps, start, history)


def training_stats(model, steps, start, history):
    """What a training loop did, for the tables: steps, crops, seconds, loss, params, CPU cores (used, of the
    machine's)."""
    return {"steps": steps, "crops": steps * BATCH, "seconds": round(time.time() - start),
            "first_loss": float(np.mean(history[:20])), "last_loss": float(np.mean(history[-50:])),
            "params": int(model.count_params()), "cpu_cores": len(os.sched_getaffinity(0)),
            "machine_cores": os.cpu_count()}


def array_batch(rows, folder, rng, batch, length, n_fft, hop):
    from zoo.families.separation.deep_clustering import spectral

    feats, targets = [], []
    for i in rng.choice(len(rows), size=batch, replace=False):
        r = rows[int(i)]
        mix = read_wav(folder, r["path"])[:, 0]
        speech = sum(read_wav(folder, p) for p in r["sources"])
        noise = mix - speech
        mix, speech, noise = crop([mix, speech, noise], length, rng)
        x, s, n = (spectral.stft(v, n_fft, hop) for v in (mix, speech, noise))
        ibm = (np.abs(s) > np.abs(n)).astype(np.float32)
        feats.append(spectral.log_magnitude(x))
        targets.append(np.stack([ibm, 1.0 - ibm], axis=-1))
    return np.stack(feats), np.stack(targets)


def train_mask_estimator(minutes, seed, log):
    import keras
    import tensorflow as tf

    from zoo.families.separation.mask_mvdr.mask_estimator import MaskEstimator

    keras.utils.set_random_seed(seed)
    model = MaskEstimator(n_fft=512, hop=128, lstm_units=128, num_layers=1)
    opt = keras.optimizers.Adam(1e-3, clipnorm=5.0)
    bce = keras.losses.BinaryCrossentropy()
    rows = rows_of(ARRAY, "train")
    rng = np.random.default_rng(seed)

    @tf.function(reduce_retracing=True)
    def step(feats, targets):
        with tf.GradientTape() as tape:
            loss = bce(targets, model(feats, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    start, steps, history = time.time(), 0, []
    while time.time() - start < minutes * 60:
        history.append(float(step(*array_batch(rows, ARRAY.parent, rng, BATCH, 32000, 512, 128))))
        steps += 1
        if steps % 50 == 0:
            log(f"mask step {steps} loss {np.mean(history[-50:]):.4f} ({time.time() - start:.0f} s)")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    model.save(RUN_DIR / "mask_estimator.keras")
    return model, training_stats(model, steps, start, history)


def evaluate_two_speaker(models, count, log):
    from zoo.families.separation.deep_clustering import spectral
    from zoo.metrics.separation import bss_eval, si_sdr_improvement

    rows = rows_of(TWO_SPEAKER, "test")[:count]
    scores = {name: {"si_sdri": [], "sdr": [], "sir": [], "sar": [], "seconds": 0.0}
              for name in ["mixture", *models, "oracle_ibm"]}
    for n, r in enumerate(rows):
        mix = read_wav(TWO_SPEAKER.parent, r["path"]).astype(np.float64)
        ref = np.stack([read_wav(TWO_SPEAKER.parent, p) for p in r["sources"]]).astype(np.float64)
        spec, src = spectral.stft(mix), spectral.stft(ref)
        ibm = np.moveaxis(spectral.ideal_binary_masks(src), -1, 0)
        estimates = {"mixture": np.stack([mix, mix]), "oracle_ibm": spectral.istft(ibm * spec[None], len(mix))}
        for name, model in models.items():
            t = time.time()
            estimates[name] = model.separate(mix, 2, seed=n)
            scores[name]["seconds"] += time.time() - t
        for name, est in estimates.items():
            scores[name]["si_sdri"].append(float(np.mean(si_sdr_improvement(ref, est, mix))))
            bss = bss_eval(ref, est)
            for key in ("sdr", "sir", "sar"):
                scores[name][key].append(float(np.mean(bss[key])))
        if (n + 1) % 25 == 0:
            log(f"2spk eval {n + 1}/{len(rows)}")
    return {name: {**{k: (float(np.mean(v)) if isinstance(v, list) else v / len(rows)) for k, v in s.items()},
                   "count": len(rows)} for name, s in scores.items()}


def evaluate_array(mask_model, count, log):
    from zoo.families.separation.deep_clustering import spectral
    from zoo.families.separation.mask_mvdr.mvdr import mask_mvdr
    from zoo.metrics.separation import pesq_score, si_sdr

    rows = rows_of(ARRAY, "test")[:count]
    names = ["reference_mic", "mask_mvdr", "oracle_mask_mvdr"] if mask_model is not None else \
        ["reference_mic", "oracle_mask_mvdr"]
    scores = {name: {"si_sdr": [], "pesq": []} for name in names}
    fields, snr_low = [], []
    for n, r in enumerate(rows):
        mix = read_wav(ARRAY.parent, r["path"]).T.astype(np.float64)  # [C, samples]
        speech = sum(read_wav(ARRAY.parent, p) for p in r["sources"]).astype(np.float64)
        noise = mix[0] - speech
        s, nz = spectral.stft(speech, 512, 128), spectral.stft(noise, 512, 128)
        ibm = (np.abs(s) > np.abs(nz)).astype(np.float64)
        estimates = {"reference_mic": mix[0], "oracle_mask_mvdr": mask_mvdr(mix, ibm, 1.0 - ibm)}
        if mask_model is not None:
            estimates["mask_mvdr"] = mask_model.enhance(mix)
        for name, est in estimates.items():
            scores[name]["si_sdr"].append(float(si_sdr(speech[None], est[None], compute_permutation=False)[0]))
            scores[name]["pesq"].append(float(pesq_score(speech, est, 16000)))
        fields.append(r.get("noise_field", "?"))
        snr_low.append(float(r.get("snr_db", 0.0)) < 10.0)
        if (n + 1) % 25 == 0:
            log(f"array eval {n + 1}/{len(rows)}")
    fields = np.array(fields)
    out = {}
    for name, s in scores.items():
        out[name] = {"si_sdr": float(np.mean(s["si_sdr"])), "pesq": float(np.mean(s["pesq"]))}
        for field in sorted(set(fields)):
            out[name][f"si_sdr_{field}"] = float(np.mean(np.array(s["si_sdr"])[fields == field]))
        low = np.array(snr_low)
        out[name]["si_sdr_snr_below_10db"] = float(np.mean(np.array(s["si_sdr"])[low])) if low.any() else float("nan")
        out[name]["si_sdr_snr_above_10db"] = float(np.mean(np.array(s["si_sdr"])[~low])) if (~low).any() \
            else float("nan")
    out["count_by_field"] = {str(f): int(np.sum(fields == f)) for f in sorted(set(fields))}
    out["count_snr_below_10db"] = int(np.sum(snr_low))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dc-minutes", type=float, default=6.0)
    p.add_argument("--dan-minutes", type=float, default=6.0)
    p.add_argument("--mask-minutes", type=float, default=4.0, help="0: oracle-mask MVDR only")
    p.add_argument("--test", type=int, default=300,
                   help="first N two-speaker test mixtures (300: the separation-families table's)")
    p.add_argument("--array-test", type=int, default=100, help="first N array-mixtures test rows")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="load models saved by an earlier run instead of training")
    p.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    p.add_argument("--from-results", action="store_true", help="only rewrite the section from results.json")
    args = p.parse_args(argv)
    if args.from_results:
        saved = json.loads((RUN_DIR / "results.json").read_text())
        print(write_section("embedding-separation", report(saved["training"], saved["two_speaker"], saved["array"],
                                                           args, saved.get("machine", "not recorded"))))
        return
    where = machine()  # the load average when the run starts, not when its results are rendered again

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    import zoo.families.separation.deep_attractor.deep_attractor_network  # noqa: F401  (registers classes)
    import zoo.families.separation.deep_clustering.deep_clustering_embedder  # noqa: F401
    import zoo.families.separation.mask_mvdr.mask_estimator  # noqa: F401

    training, models = {}, {}
    for kind, minutes in (("dc", args.dc_minutes), ("dan", args.dan_minutes)):
        if args.reuse:
            models[kind] = keras.saving.load_model(RUN_DIR / f"{kind}.keras", safe_mode=True)
        else:
            models[kind], training[kind] = train_embedding(kind, minutes, args.seed, log)
    mask_model = None
    if args.reuse and (RUN_DIR / "mask_estimator.keras").is_file():
        mask_model = keras.saving.load_model(RUN_DIR / "mask_estimator.keras", safe_mode=True)
    elif args.mask_minutes > 0 and not args.reuse:
        mask_model, training["mask"] = train_mask_estimator(args.mask_minutes, args.seed, log)
    stats = RUN_DIR / "training.json"
    if args.reuse and stats.is_file():
        training = json.loads(stats.read_text())
    else:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        stats.write_text(json.dumps(training, indent=1))
    log(f"training {training}")
    two = evaluate_two_speaker(models, args.test, log)
    log(f"2spk {two}")
    arr = evaluate_array(mask_model, args.array_test, log)
    log(f"array {arr}")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "results.json").write_text(json.dumps({"training": training, "two_speaker": two, "array": arr,
                                                      "machine": where}, indent=1))
    if not args.no_write:
        print(write_section("embedding-separation", report(training, two, arr, args, where)))


def two_count(two, args):
    """Two-speaker test mixtures scored (older results.json files do not record it)."""
    return two.get("mixture", {}).get("count", args.test)


def report(training, two, arr, args, where):
    label = {"mixture": "mixture (no processing)", "dc": "deep clustering (k-means, binary masks)",
             "dan": "deep attractor network (k-means attractors, soft masks)",
             "oracle_ibm": "oracle ideal binary mask"}

    def trained(kind):
        t = training.get(kind)
        return f"{t['steps']} steps / {t['seconds']} s, loss {t['first_loss']:.3f} -> {t['last_loss']:.3f}" if t \
            else "loaded from an earlier run"

    body = ["## Embedding separation and mask-based MVDR", "",
            "`benchmarks/embedding_separation.py`: deep clustering (Hershey et al. 2016) and the deep attractor "
            "network (Chen et al. 2017) share one embedding net (log-magnitude STFT 256/64 at 8 kHz, LayerNorm, "
            "2 x BLSTM 128 per direction, D = 20 unit-norm embeddings per T-F bin), each trained from scratch with "
            f"its own loop (batch {BATCH} x 1 s crops, Adam 1e-3) on speech-mixtures-2spk: "
            f"DC {trained('dc')}; DAN {trained('dan')}. Test: the first {two_count(two, args)} test mixtures; BSS Eval "
            "(fast-bss-eval, 512-tap filter) with the best permutation; the oracle binary mask uses the same STFT.", "",
            "| 2-speaker (8 kHz) | SI-SDRi (dB) | SDR (dB) | SIR (dB) | SAR (dB) | params | training "
            "| s / mixture |",
            "|---|---:|---:|---:|---:|---:|---|---:|"]
    for name, s in two.items():
        cells = [f"{s[k]:.2f}" if np.isfinite(s[k]) else "-" for k in ("si_sdri", "sdr", "sir", "sar")]
        t = training.get(name) or {}
        cost = [f"{t['params']:,}" if "params" in t else "-", f"{t['seconds'] / 60:.1f} min" if t else "-"]
        body.append(f"| {label.get(name, name)} | " + " | ".join(cells + cost) + f" | {s['seconds']:.3f} |")
    fields = arr.get("count_by_field", {})
    body += ["", "Mask-based MVDR (Heymann et al. 2016; Souden weights w = Phi_N^-1 Phi_S u / tr(Phi_N^-1 Phi_S), "
             "reference mic 0, diagonal loading 1% of the mean noise power, STFT 512/128 at 16 kHz) on the first "
             f"{sum(fields.values())} array-mixtures test rows "
             f"(4 mics; {', '.join(f'{v} {k}' for k, v in fields.items())} "
             "noise). The target is the sum of the talkers' reverberant images at mic 0 (enhancement, not "
             "separation: with two talkers both are kept). Mask net: one BLSTM (128 per direction) -> speech and "
             f"noise masks, BCE on mic-0 ideal binary masks, {trained('mask')}; masks averaged over the 4 channels. "
             "Oracle: ideal binary masks of mic 0 for every channel.", "",
             f"Columns split the rows by noise field and by SNR at mic 0 ({arr['count_snr_below_10db']} rows "
             "below 10 dB). SI-SDR against a reverberant target charges the beamformer for the late reverberation "
             "and, with two talkers, for the speech covariance not being rank one; it gains where the noise is "
             "strong.", "",
             "| array-mixtures (16 kHz) | SI-SDR (dB) | " + " | ".join(f"SI-SDR {k}" for k in fields)
             + " | SI-SDR, SNR < 10 dB | SI-SDR, SNR >= 10 dB | PESQ (wb) |",
             "|---|---:|" + "---:|" * len(fields) + "---:|---:|---:|"]
    label_arr = {"reference_mic": "reference mic (mic 0)", "mask_mvdr": "mask-based MVDR (network masks)",
                 "oracle_mask_mvdr": "oracle-mask MVDR"}
    for name in ("reference_mic", "mask_mvdr", "oracle_mask_mvdr"):
        if name in arr:
            s = arr[name]
            body.append(f"| {label_arr[name]} | {s['si_sdr']:.2f} | "
                        + " | ".join(f"{s[f'si_sdr_{k}']:.2f}" for k in fields)
                        + f" | {s['si_sdr_snr_below_10db']:.2f} | {s['si_sdr_snr_above_10db']:.2f} | {s['pesq']:.2f} |")
    pinned = {(t["cpu_cores"], t["machine_cores"]) for t in training.values()
              if t.get("cpu_cores") and t.get("machine_cores") and t["cpu_cores"] < t["machine_cores"]}
    body += ["", f"Machine: {where}" + "".join(f"; training pinned to {c} of {m} cores" for c, m in sorted(pinned))
             + "."]
    return "\n".join(body)


if __name__ == "__main__":
    main()
