"""Music stems: SDR per stem of the U-Net masker beside the oracle masks -> docs/benchmarks.md
(section music-stems).

Scores the trained sep_unet_stems (runs/<preset>/model.weights.h5 of `zoo train sep_unet_stems`) on
the whole 6 s test songs of music-stems, in the corpus's fixed stem order (bass, drums, chords,
lead; no permutation): BSS Eval v4 SDR (fast-bss-eval, 512-tap distortion filter) of the U-Net's
estimates, of the oracle ideal ratio mask (IRM, |S_i| / sum_j |S_j|) and the oracle Wiener mask on
the model's own STFT (Hann 1024 / hop 256), and of the mixture itself as every stem's estimate.

    python benchmarks/music_stems.py [--runs runs] [--data-root data] [--songs 0 (all)]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import machine, write_section  # noqa: E402

PRESET = "sep_unet_stems"
SYSTEMS = ("unet", "oracle_irm", "oracle_wiener", "mixture")


def score_songs(task, root: Path, rows: list) -> dict:
    """{system: f64[songs, stems] SDR} and the model's seconds per song."""
    from training.separation_train import load_example
    from zoo.metrics.separation import bss_eval, oracle_masks

    sdr = {name: [] for name in SYSTEMS}
    seconds = []
    for row in rows:
        mixture, sources = load_example(root, row)
        start = time.perf_counter()
        estimate = task.predict_waveform(mixture)["sources"]
        seconds.append(time.perf_counter() - start)
        oracles = oracle_masks(sources, mixture, n_fft=task.backbone.frame_length,
                               hop_length=task.backbone.frame_step, masks=("irm", "wiener"))
        estimates = {"unet": estimate, "oracle_irm": oracles["irm"], "oracle_wiener": oracles["wiener"],
                     "mixture": np.broadcast_to(mixture, sources.shape)}
        for name, est in estimates.items():
            with np.errstate(divide="ignore"):  # the mixture's SIR is infinite (it holds every stem); SDR is not
                sdr[name].append(bss_eval(sources, est, compute_permutation=False)["sdr"])
    return {k: np.asarray(v) for k, v in sdr.items()}, float(np.mean(seconds[1:] or seconds))


def table(sdr: dict, stems: list) -> list[str]:
    lines = ["| stem | U-Net SDR (dB) | oracle IRM SDR | oracle Wiener SDR | mixture as estimate SDR | U-Net SDRi |",
             "|---|---|---|---|---|---|"]

    def cell(values):
        return f"{np.mean(values):.2f} ({np.median(values):.2f})"

    for i, stem in enumerate(stems + ["all stems"]):
        col = slice(None) if i == len(stems) else i
        lines.append(f"| {stem} | " + " | ".join(cell(sdr[k][:, col]) for k in SYSTEMS) +
                     f" | {np.mean(sdr['unet'][:, col] - sdr['mixture'][:, col]):.2f} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--songs", type=int, default=0, help="score the first N test songs (0: all)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    from training.manifest import read_manifest
    from zoo.presets import WEIGHTS_FILE, build_task, get_preset

    preset = get_preset(PRESET)
    run_dir = Path(args.runs) / PRESET
    if not (run_dir / WEIGHTS_FILE).is_file():
        raise SystemExit(f"no {run_dir / WEIGHTS_FILE}: run `zoo train {PRESET}` first (or pass --runs)")
    task = build_task(preset)
    task.load_weights(str(run_dir / WEIGHTS_FILE))
    root = Path(args.data_root) / preset.data["corpus"]
    rows = [r for r in read_manifest(root / "manifest.jsonl", required=("path", "split", "sources"))
            if r["split"] == "test"]
    rows = rows[:args.songs] if args.songs else rows
    started = machine()
    sdr, seconds = score_songs(task, root, rows)
    stems = list(preset.data["sources"])
    lines = table(sdr, stems)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    duration = float(rows[0].get("duration", 6.0))
    notes = [
        "",
        f"Test split of music-stems: {len(rows)} songs of {duration:g} s (16 kHz, generated MIDI rendered by "
        "FluidSynth; unseen song seeds), scored whole in the fixed stem order (no permutation). "
        "Mean (median) over songs of BSS Eval v4 SDR (fast-bss-eval, 512-tap filter). Oracle masks use the "
        f"true stems on the model's STFT (Hann {task.backbone.frame_length} / hop {task.backbone.frame_step}); "
        "SDRi = U-Net SDR minus the mixture's SDR.",
        f"{PRESET}: {task.count_params():,} parameters, softmax masks, "
        + (f"{summary['train_minutes']:.1f} min of CPU training ({summary['train_examples_seen']:,} crops of "
           f"2 s), " if "train_minutes" in summary else "")
        + f"{seconds:.2f} s per {duration:g} s song on CPU (real-time factor {seconds / duration:.3f}), "
        f"latency {task.algorithmic_latency_ms:.0f} ms (one frame).",
        f"Machine: {started}.",
    ]
    body = "## Music stems: U-Net masks vs oracle masks\n\n" + "\n".join(lines) + "\n".join(notes).replace("\n", "\n\n")
    print(body)
    (run_dir / "music_stems_benchmark.json").write_text(json.dumps(
        {"stems": stems, "songs": len(rows), **{k: v.round(3).tolist() for k, v in sdr.items()},
         "seconds_per_song": round(seconds, 3)}, indent=1) + "\n")
    if not args.no_write:
        write_section("music-stems", body)


if __name__ == "__main__":
    main()
