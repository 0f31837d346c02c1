"""Classical enhancement and separation baselines beside the zoo's denoisers -> docs/benchmarks.md
(section enhancement-baselines).

Table 1 (noisy-speech test split, 16 kHz): PESQ (wide-band) and STOI of the noisy input, each
zoo.baselines enhancer (RNNoise, noisereduce, spectral subtraction, iterative Wiener), the DTLN
presets (hub weights; with --runs, a finished `zoo train` run's weights when the hub has none,
marked as such) and the oracle IRM (upper bound); gains over noisy and real-time factor (process
time / audio duration, one process, after one warm-up file).
Table 2 (array-mixtures test split, 4 mics): AuxIVA and ILRMA (determined, projection back to
mic 0): SI-SDR improvement over mic 0 and SDR (BSS Eval, 512-tap filter) of the matched outputs.

    python benchmarks/enhancement_baselines.py [--files 100] [--array-files 30] [--runs runs]
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

ROOT = Path(__file__).resolve().parent.parent
DTLN = ("enh_dtln_16k", "enh_dtln_hearing_16k")
LABELS = {"rnnoise": "RNNoise (pyrnnoise, 48 kHz)", "spectral_gating": "noisereduce (non-stationary gating)",
          "spectral_subtraction": "spectral subtraction (pyroomacoustics)",
          "wiener": "iterative Wiener (pyroomacoustics)"}
BSS = (("AuxIVA (determined, 4 outputs)", {"method": "auxiva"}),
       ("ILRMA (determined, 4 outputs, 2 NMF bases)", {"method": "ilrma"}))


def _rows(corpus: Path, count: int) -> list[dict]:
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines() if line.strip()]
    rows = sorted((r for r in rows if r["split"] == "test"), key=lambda r: r["index"])
    return rows[:count]


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    x, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return x.T if x.shape[1] > 1 else x[:, 0]


def _dtln(preset: str, runs: Path | None):
    """(predict fn, weights note) or (None, reason)."""
    import zoo
    from zoo.errors import CheckpointError, HubError

    try:
        task = zoo.load(preset)
        note = "hub"
    except (CheckpointError, HubError) as e:
        local = runs / preset / "model.weights.h5" if runs else None
        if local is None or not local.exists():
            return None, f"no weights ({e.what})"
        task = zoo.load(preset, weights_path=str(local))
        note = "weights of the local run, not in the hub"
    return (lambda x, sr: task.predict_waveform(x)["sources"][0]), note


def _oracle_irm(noisy, clean):
    from zoo.metrics.separation import oracle_masks

    return oracle_masks(clean[None], noisy, masks=("irm",))["irm"][0].astype(np.float32)


def enhancement_table(files: int, runs: Path | None) -> list[str]:
    from zoo.baselines import ENHANCERS, get_enhancer
    from zoo.metrics.separation import pesq_score, si_sdr, stoi_score

    corpus = ROOT / "data" / "noisy-speech"
    rows = _rows(corpus, files)
    data = [(_read(corpus / r["path"]), _read(corpus / r["sources"][0])) for r in rows]
    sr = 16000
    methods = [("noisy input", "noisy", None)]
    methods += [(LABELS[n], "enh", get_enhancer(n)) for n in ENHANCERS]
    notes = []
    for preset in DTLN:
        fn, note = _dtln(preset, runs)
        if fn is None:
            notes.append(f"{preset}: left out, {note}.")
            continue
        methods.append((f"{preset} ({note})", "enh", fn))
    methods.append(("oracle IRM (upper bound; STFT 512/128)", "oracle", None))

    results = {}
    for label, kind, fn in methods:
        pesq, stoi, sisdr, seconds, failed = [], [], [], 0.0, 0
        if kind == "enh":
            fn(data[0][0], sr)  # warm-up: library loads, graph tracing
        for noisy, clean in data:
            start = time.perf_counter()
            if kind == "noisy":
                y = noisy
            elif kind == "oracle":
                y = _oracle_irm(noisy, clean)
            else:
                y = fn(noisy, sr)
            seconds += time.perf_counter() - start
            try:
                pesq.append(pesq_score(clean, y, sr))
            except Exception:  # a silenced output: PESQ finds no utterance
                pesq.append(np.nan)
                failed += 1
            stoi.append(stoi_score(clean, y, sr))
            sisdr.append(float(si_sdr(clean[None], np.asarray(y)[None], compute_permutation=False)[0]))
        duration = sum(len(n) for n, _ in data) / sr
        results[label] = (np.array(pesq), np.array(stoi), np.array(sisdr), seconds / duration, kind, failed)
        print(f"{label}: PESQ {np.nanmean(pesq):.3f} STOI {np.mean(stoi):.3f}", flush=True)

    base_p, base_s, base_q = results["noisy input"][:3]
    lines = ["| method | PESQ (wb) | ΔPESQ | STOI | ΔSTOI | SI-SDR (dB) | ΔSI-SDR | PESQ > noisy (files) | RTF |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, (p, s, q, rtf, kind, failed) in results.items():
        ok = ~np.isnan(p)
        better = f"{int(np.sum(p[ok] > base_p[ok]))}/{int(ok.sum())}" if kind != "noisy" else "-"
        rtf_text = "-" if kind == "noisy" else f"{rtf:.3f}"
        fail = f" ({failed} unscorable)" if failed else ""
        lines.append(f"| {label} | {np.nanmean(p):.3f}{fail} | {np.nanmean(p - base_p):+.3f} | {np.mean(s):.3f} | "
                     f"{np.mean(s - base_s):+.3f} | {np.mean(q):.2f} | {np.mean(q - base_q):+.2f} | {better} | "
                     f"{rtf_text} |")
    snr = np.array([r["snr_db"] for r in rows])
    lines.append(f"\nnoisy-speech test split, first {len(rows)} files ({sum(len(n) for n, _ in data) / sr:.0f} s; "
                 f"SNR {snr.min():.0f}..{snr.max():.0f} dB, half reverberant; the target is the clean speech "
                 f"image at the microphone). PESQ P.862.2 wide-band via `pesq`, STOI via `pystoi`; Δ = mean "
                 f"per-file gain over the noisy input. RTF = processing seconds / audio seconds on one process "
                 f"(DTLN: whole utterance through Keras).")
    lines += [f"\n{n}" for n in notes]
    return lines


def separation_table(files: int) -> list[str]:
    from zoo.baselines.bss import match_sources, separate
    from zoo.metrics.separation import bss_eval, si_sdr

    corpus = ROOT / "data" / "array-mixtures"
    rows = _rows(corpus, files)
    data = [(_read(corpus / r["path"]), np.stack([_read(corpus / s) for s in r["sources"]]), r) for r in rows]
    lines = ["| method | SI-SDRi (dB) | SI-SDRi 1 speaker | SI-SDRi 2 speakers | SDR (dB) | SDRi (dB) | RTF |",
             "|---|---|---|---|---|---|---|"]
    sr = 16000
    for label, kw in BSS:
        sisdri, sdr, sdri, speakers, seconds = [], [], [], [], 0.0
        for mix, refs, r in data:
            start = time.perf_counter()
            est = separate(mix, sr, n_fft=2048, n_iter=30, **kw)
            seconds += time.perf_counter() - start
            matched, _ = match_sources(refs, est)
            mic0 = np.broadcast_to(mix[0], refs.shape)
            base = si_sdr(refs, mic0, compute_permutation=False)
            sisdri += list(si_sdr(refs, matched, compute_permutation=False) - base)
            out = bss_eval(refs, matched, compute_permutation=False)["sdr"]
            ref_sdr = bss_eval(refs, mic0, compute_permutation=False)["sdr"]
            sdr += list(out)
            sdri += list(out - ref_sdr)
            speakers += [r["num_speakers"]] * len(refs)
        sisdri, speakers = np.array(sisdri), np.array(speakers)
        rtf = seconds / (sum(m.shape[1] for m, _, _ in data) / sr)
        group = [f"{sisdri[speakers == k].mean():.2f}" if np.any(speakers == k) else "-" for k in (1, 2)]
        lines.append(f"| {label} | {sisdri.mean():.2f} | {group[0]} | {group[1]} | {np.mean(sdr):.2f} | "
                     f"{np.mean(sdri):.2f} | {rtf:.3f} |")
        print(lines[-1], flush=True)
    two = sum(r["num_speakers"] == 2 for _, _, r in data)
    lines.append(f"\narray-mixtures test split, first {len(rows)} recordings ({len(rows) - two} with one speaker, "
                 f"{two} with two; 4-mic linear (4 cm) or circular (3.25 cm radius) arrays, RT60 0.1-0.6 s, point or "
                 f"diffuse noise at 0-20 dB SNR). STFT 2048/512 (Hann), 30 iterations, projection back to mic 0; "
                 f"of the 4 outputs, the set and order with the highest SI-SDR against the speakers' images at "
                 f"mic 0 is scored (an oracle choice of outputs). Improvements are over mic 0 of the mixture; "
                 f"values are averages over speakers.")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100, help="noisy-speech test files")
    parser.add_argument("--array-files", type=int, default=30, help="array-mixtures test recordings")
    parser.add_argument("--runs", type=Path, default=None,
                        help="folder of `zoo train` runs: DTLN weights when the hub has none")
    args = parser.parse_args(argv)
    header = f"Machine: {machine()}."
    start = time.time()
    body = ["## Enhancement and array separation: classical baselines", "", header, "",
            "### Single-channel enhancement (noisy-speech)", ""]
    body += enhancement_table(args.files, args.runs)
    body += ["", "### Array separation (array-mixtures)", ""]
    body += separation_table(args.array_files)
    body += ["", f"Whole run: {(time.time() - start) / 60:.1f} min "
                 f"(`python benchmarks/enhancement_baselines.py --files {args.files} "
                 f"--array-files {args.array_files}{' --runs ' + str(args.runs) if args.runs else ''}`)."]
    print(write_section("enhancement-baselines", "\n".join(body)))


if __name__ == "__main__":
    main()
