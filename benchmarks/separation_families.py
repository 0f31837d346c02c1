"""Separation and enhancement families side by side -> docs/benchmarks.md (section separation-families).

Reads runs/<preset>/summary.json of finished runs, else the published metrics in hub/index.json
(test-split metrics on whole utterances), puts the oracle masks (computed on the same test mixtures) beside the models,
and measures the streaming DTLN denoiser as TFLite (float32 and dynamic-range): parity with the
whole-utterance Keras model, real-time factor and p99 time per hop on one thread (ai-edge-litert),
algorithmic latency (= frame length) and PESQ/STOI of the TFLite output.

    python benchmarks/separation_families.py [--runs runs] [--stream-clips 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import machine, write_section  # noqa: E402
from training.recipe import whole_training  # noqa: E402

TWO_SPEAKER = ["sep_convtasnet_small_2spk", "sep_convtasnet_causal_2spk", "sep_blstm_psm_2spk"]
ENHANCEMENT = ["enh_dtln_16k", "enh_dtln_hearing_16k"]
ORACLES = ("irm", "ibm", "wiener", "psm")


def _summary(runs: Path, preset: str):
    """runs/<preset>/summary.json, else the hub index's published metrics (a fresh machine has no runs;
    published metrics already count a chain's whole training)."""
    from zoo.presets import read_hub_index

    path = runs / preset / "summary.json"
    if path.exists():
        return json.loads(path.read_text())
    return read_hub_index().get(preset, {}).get("metrics")


def _run_weights(runs: Path, preset: str) -> str | None:
    """The run's weights file, else None (load_preset then pulls the published ones)."""
    path = runs / preset / "model.weights.h5"
    return str(path) if path.exists() else None


def _training_cost(s: dict) -> str:
    """Minutes (and crops) of training; a fine-tune counts the runs it started from too. A run whose
    last part was not CPU training (an accelerator run) names that machine, one pinned to fewer cores
    says how many."""
    before, whole = s.get("continued_from") or {}, whole_training(s)
    text = f"{whole['train_minutes']:.1f} min" + (
        f" ({before['train_minutes']:.1f} + {s['train_minutes']:.1f} fine-tune)" if before.get("train_minutes") else "")
    if "train_examples_seen" in whole:
        text += f", {whole['train_examples_seen']:,} crops" + (
            " in the fine-tune" if before and not before.get("train_examples_seen") else "")
    where = (s.get("machine") or "").split(",")[0]  # e.g. "x86_64 1 of 2 cores", "NVIDIA H200 (gpu)"
    if where and "CPU training" not in s["machine"]:
        text += f"; last run on {where}"
    elif " of " in where:  # a CPU run pinned to fewer cores (taskset)
        text += f"; last run on {where.split(' ', 1)[1]}"
    return text


def _cores(training: dict) -> str:
    """'; on 1 of 2 cores' for a benchmark training pinned to fewer cores than its machine had."""
    cores, total = training.get("cpu_cores"), training.get("machine_cores")
    return f"; on {cores} of {total} cores" if cores and total and cores < total else ""


def embedding_rows(runs: Path, test_count: int | None) -> list[str]:
    """Deep clustering and the deep attractor network, which have no preset: the rows of
    runs/embedding_separation/results.json (benchmarks/embedding_separation.py), if that run is here."""
    path = runs / "embedding_separation" / "results.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    two, training, lines = saved["two_speaker"], saved["training"], []
    for kind, label in (("dc", "deep clustering (k-means, binary masks)"),
                        ("dan", "deep attractor network (k-means attractors, soft masks)")):
        s, t = two.get(kind), training.get(kind)
        if s is None or t is None or "crops" not in t:  # a run older than these columns
            continue
        count = s.get("count")
        where = "" if count == test_count else f"; first {count} test mixtures"
        lines.append(f"| {label}{where} | {s['si_sdri']:.2f} | {s['sdr'] - two['mixture']['sdr']:.2f} | "
                     f"{s['sdr']:.2f} | {s['sir']:.2f} | {s['sar']:.2f} | {t['params']:,} | "
                     f"{t['seconds'] / 60:.1f} min, {t['crops']:,} crops of 1 s{_cores(t)} | whole utterance |")
    return lines


def separation_table(runs: Path) -> list[str]:
    lines = ["| model | SI-SDRi (dB) | SDRi (dB) | SDR | SIR | SAR | params | training | latency |",
             "|---|---|---|---|---|---|---|---|---|"]
    oracle = None
    for preset in TWO_SPEAKER:
        s = _summary(runs, preset)
        if s is None:
            continue
        t = s["test"]
        oracle = oracle or t
        lines.append(f"| {preset} | {t['si_sdri']:.2f} | {t['sdri']:.2f} | {t['sdr']:.2f} | {t['sir']:.2f} | "
                     f"{t['sar']:.2f} | {s['params']:,} | {_training_cost(s)} | {s['algorithmic_latency_ms']:.0f} ms |")
    embedding = embedding_rows(runs, oracle["num_examples"] if oracle else None)
    lines += embedding
    if oracle:
        for name in ORACLES:
            key = f"oracle_{name}_si_sdri"
            if key in oracle:
                lines.append(f"| oracle {name.upper()} (STFT 256/64) | {oracle[key]:.2f} | | | | | - | - | - |")
        lines.append(f"\nTest split: first {oracle['num_examples']} mixtures of speech-mixtures-2spk (8 kHz)."
                     + (" Deep clustering and the deep attractor network: trained and scored by "
                        "`benchmarks/embedding_separation.py` (section embedding-separation), which this table "
                        "reads from runs/embedding_separation/results.json; latency: k-means over the whole "
                        "utterance." if embedding else ""))
    return lines


def enhancement_table(runs: Path) -> list[str]:
    lines = ["| model | PESQ (wb) in -> out | STOI in -> out | SI-SDR in -> out (dB) | params | training | "
             "latency |", "|---|---|---|---|---|---|---|"]
    for preset in ENHANCEMENT:
        s = _summary(runs, preset)
        if s is None:
            continue
        t = s["test"]
        lines.append(f"| {preset} | {t['pesq_input']:.2f} -> {t['pesq']:.2f} | {t['stoi_input']:.3f} -> "
                     f"{t['stoi']:.3f} | {t['si_sdr_input']:.1f} -> {t['si_sdr']:.1f} | {s['params']:,} | "
                     f"{_training_cost(s)} | {s['algorithmic_latency_ms']:.0f} ms |")
    return lines


def streaming_table(runs: Path, preset: str, clips: int, data_root: Path) -> list[str]:
    from export.denoiser_streaming import DTLNStreamer, TFLiteStreamRunner, convert_stream_tflite
    from training.manifest import read_manifest
    from training.separation_train import load_example
    from zoo.metrics.separation import pesq_score, stoi_score
    from zoo.presets import load_preset

    task = load_preset(preset, weights_path=_run_weights(runs, preset))
    streamer = DTLNStreamer(task)
    root = data_root / task.preset.data["corpus"]
    rows = [r for r in read_manifest(root / "manifest.jsonl", required=("path", "split", "sources"))
            if r["split"] == "test"][:clips]
    examples = [load_example(root, r) for r in rows]
    lines = ["| artifact | size | max abs diff vs whole utterance | PESQ out | STOI out | RTF (1 thread) | "
             "RTF of invoke alone | p99 per hop | hop | algorithmic latency |", "|---" * 10 + "|"]
    hop_ms = 1000.0 * streamer.hop_samples / task.sample_rate
    d = streamer.delay_samples
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float32", "dynamic"):
            path = convert_stream_tflite(task, Path(tmp) / f"{preset}_stream_{precision}.tflite", precision)
            runner = TFLiteStreamRunner(path.read_bytes(), num_threads=1)
            diffs, pesqs, stois, timings, invokes, audio_s = [], [], [], [], [], 0.0
            for mixture, sources in examples:
                whole = task.predict_waveform(mixture)["sources"][0]
                hop_times, invoke_times = [], []
                out = runner.run(mixture, streamer, timings=hop_times, invoke_timings=invoke_times)[d:d + mixture.size]
                timings.extend(hop_times)
                invokes.extend(invoke_times)
                audio_s += mixture.size / task.sample_rate
                diffs.append(float(np.abs(out - whole).max()))
                pesqs.append(pesq_score(sources[0], out, task.sample_rate))
                stois.append(stoi_score(sources[0], out, task.sample_rate))
            t = np.array(timings)
            lines.append(f"| {path.name} | {path.stat().st_size / 1024:.0f} KB | {max(diffs):.2e} | "
                         f"{np.mean(pesqs):.2f} | {np.mean(stois):.3f} | {t.sum() / audio_s:.4f} | "
                         f"{sum(invokes) / audio_s:.4f} | "
                         f"{1000 * np.percentile(t, 99):.3f} ms ({100 * np.percentile(t, 99) / (hop_ms / 1000):.1f}% "
                         f"of hop) | {hop_ms:.0f} ms | {streamer.algorithmic_latency_ms:.0f} ms |")
    lines.append(f"\n{len(examples)} noisy-speech test clips streamed hop by hop from zero state; parity compares "
                 f"the TFLite stream (delayed by {d} samples) with the whole-utterance Keras model. RTF and p99 time "
                 f"each hop from Python: audio and state tensors set, invoke, outputs read by tensor index "
                 f"(export.denoiser_streaming.TFLiteStreamRunner); 'invoke alone' is the interpreter's share, what a "
                 f"device loop that keeps its state buffers in place would pay.")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--stream-clips", type=int, default=20)
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    start = time.perf_counter()
    body = ["Written by `benchmarks/separation_families.py`. Training ran on CPU (2 cores) unless the training "
            "column names another machine; a preset without a run in runs/ shows its published metrics "
            f"(hub/index.json). Numbers are test-split means. Machine of this run: {machine()}.", "",
            "### Two-speaker separation (speech-mixtures-2spk, 8 kHz)", "", *separation_table(runs), "",
            "### Enhancement (noisy-speech, 16 kHz)", "", *enhancement_table(runs), ""]
    for preset in ENHANCEMENT:
        if _summary(runs, preset) is not None:  # a run here, or published
            body += [f"### Streaming TFLite: {preset}", "",
                     *streaming_table(runs, preset, args.stream_clips, Path(args.data_root)), ""]
    print(write_section("separation-families", "\n".join(body)))
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
