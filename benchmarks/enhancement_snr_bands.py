"""Where a denoiser helps: PESQ, STOI and SI-SDR gains over the noisy input per 5 dB input-SNR band.

    python benchmarks/enhancement_snr_bands.py [--preset enh_dtln_16k] [--examples 150] \
        [--weights LABEL=PATH ...] [--note TEXT]

Each LABEL=PATH is a weights file of the preset (default: the hub's); all are scored on the same
noisy-speech test examples, side by side. The table goes into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without `pip install -e`
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import machine, write_section  # noqa: E402


def parse_weights(items):
    """{label: weights path, or None for the hub's published weights (pulled and sha256-verified)}."""
    from zoo.errors import ConfigError

    if not items:
        return {"hub": None}
    out = {}
    for item in items:
        label, sep, path = item.partition("=")
        if not sep or not label or not Path(path).is_file():
            raise ConfigError("--weights takes LABEL=PATH of an existing weights file", received=item,
                              expected="e.g. hub=hub/enh_dtln_16k/model.weights.h5")
        out[label] = path
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="enh_dtln_16k")
    parser.add_argument("--examples", type=int, default=150, help="first N test examples (the recipe scores 150)")
    parser.add_argument("--weights", action="append", default=[], metavar="LABEL=PATH")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--note", default="", help="a sentence on where the weights come from")
    args = parser.parse_args(argv)

    from training.corpora.registry import manifest_path
    from training.manifest import read_manifest
    from training.reports import markdown_table
    from training.separation_train import evaluate_separator
    from zoo.presets import get_preset, load_preset

    preset = get_preset(args.preset)
    manifest = manifest_path(preset.data["corpus"], args.data_root)
    rows = [r for r in read_manifest(manifest, required=("path", "split", "sources")) if r["split"] == "test"]
    rows = rows[:args.examples]
    header = machine()
    start = time.perf_counter()
    results = {}
    for label, path in parse_weights(args.weights).items():
        task = load_preset(args.preset, weights_path=path)
        results[label] = evaluate_separator(task, manifest.parent, rows, oracle=False)
        print(f"{label}: PESQ {results[label]['pesq_gain']:+.3f}, STOI {results[label]['stoi_gain']:+.4f}",
              flush=True)

    first = next(iter(results.values()))
    body = []
    for band, info in first["gain_by_snr_db"].items():
        line = [f"{band} dB", info["examples"]]
        for r in results.values():
            g = r["gain_by_snr_db"][band]
            line += [f"{g['pesq_gain']:+.3f}", f"{g['stoi_gain']:+.4f}", f"{g['si_sdr_gain']:+.2f}"]
        body.append(line)
    body.append(["all", first["num_examples"], *[v for r in results.values() for v in
                                                  (f"{r['pesq_gain']:+.3f}", f"{r['stoi_gain']:+.4f}",
                                                   f"{r['si_sdr_gain']:+.2f}")]])
    columns = ["input SNR", "examples"]
    for label in results:
        columns += [f"ΔPESQ {label}", f"ΔSTOI {label}", f"ΔSI-SDR {label}"]
    text = (f"## Enhancement gains per input-SNR band (`{args.preset}`)\n\n"
            f"Written by `benchmarks/enhancement_snr_bands.py`. Machine: {header}.\n\n"
            + markdown_table(columns, body)
            + "\n\n" + " ".join(filter(None, [
                f"noisy-speech test split, first {len(rows)} examples (held-out noise recordings); Δ = mean "
                "per-example gain over the noisy input (PESQ wide-band, STOI, SI-SDR in dB).", args.note,
                f"Whole run: {(time.perf_counter() - start) / 60:.1f} min."])))
    write_section("enhancement-snr-bands", text)
    print(text)


if __name__ == "__main__":
    main()
