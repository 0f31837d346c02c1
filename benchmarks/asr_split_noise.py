"""How far apart two recognisers' WERs must be before a held-out split can tell them apart: a paired
bootstrap over the utterances of the validation and test splits, each candidate against a reference.

    python benchmarks/asr_split_noise.py --weights RUN/model.weights.h5,... [--preset asr_rnnt_small_synth]
        [--reference PATH] [--data_root data] [--resamples 2000]

The reference is the preset's published weights unless --reference names a file. Every model decodes both
splits with the in-graph greedy decoder; zoo.metrics.asr.wer_difference resamples utterances (the same draw
for both models) and gives the 95% interval of the WER difference and the share of resamples in which the
candidate is better; it then resamples whole voice groups (a cluster bootstrap) and counts the groups whose
WER the candidate lowers. The table goes into docs/benchmarks.md between markers, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without `pip install -e`
sys.path.insert(0, str(ROOT / "benchmarks"))
from asr_sentence_kinds import sentence_manifest, weights_label  # noqa: E402
from report import machine, write_section  # noqa: E402

SPLITS = ("validation", "test")


def decode(name: str, weights: str | None, manifest: Path) -> dict:
    """{split: (references, greedy hypotheses)} of one model."""
    from training.asr_train import decode_split
    from zoo.presets import load_preset

    task = load_preset(name, weights_path=weights)
    out = {}
    for split in SPLITS:
        refs, greedy, _, _ = decode_split(task, manifest, split)
        out[split] = (refs, greedy)
        print(f"{weights_label(name, weights)} {split}: decoded {len(refs)} utterances", file=sys.stderr, flush=True)
    return out


def split_line(split: str, rows, refs) -> str:
    from training.asr_train import voice_group

    voices = sorted({voice_group(row) for row in rows})
    return (f"{split}: {len(refs)} utterances, {sum(len(r.split()) for r in refs):,} words, "
            f"voice groups {', '.join(voices)}")


def interval(d) -> str:
    return f"[{d.low * 100:+.2f}, {d.high * 100:+.2f}]"


def table(name, reference, candidates, decoded, rows, resamples) -> str:
    """One row per split and model; `rows` {split: its manifest rows, in the order decode_split returns}."""
    from training.asr_train import voice_group, wer_by_group
    from training.reports import markdown_table
    from zoo.metrics.asr import wer, wer_difference

    body = []
    for split in SPLITS:
        refs, base = decoded[reference][split]
        body.append([split, weights_label(name, reference), f"{wer(refs, base):.2%}", "reference", "", "", "", ""])
        groups = [voice_group(row) for row in rows[split]]
        base_by_group = wer_by_group(rows[split], refs, base)
        for weights in candidates:
            hyps = decoded[weights][split][1]
            d = wer_difference(refs, base, hyps, resamples=resamples)
            by_voice = wer_difference(refs, base, hyps, groups=groups, resamples=resamples)
            better = sum(v["wer"] < base_by_group[g]["wer"] for g, v in wer_by_group(rows[split], refs, hyps).items())
            body.append([split, weights_label(name, weights), f"{wer(refs, hyps):.2%}", f"{d.difference * 100:+.2f}",
                         interval(d), f"{d.share_better:.0%}", interval(by_voice),
                         f"{better} of {len(base_by_group)}"])
    return markdown_table(["split", "weights", "WER greedy", "minus reference (points)",
                           "95% interval, utterances resampled", "resamples where better",
                           "95% interval, voice groups resampled", "voice groups where better"], body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="asr_rnnt_small_synth")
    parser.add_argument("--weights", required=True, help="comma-separated weights files of the candidates")
    parser.add_argument("--reference", default=None, help="weights file (default: the published weights)")
    parser.add_argument("--data_root", default="data")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    candidates = [w for w in args.weights.split(",") if w]
    missing = [w for w in candidates + [args.reference or ""] if w and not Path(w).is_file()]
    if missing:
        print(f"no weights file at {', '.join(missing)}: pass a run's model.weights.h5", file=sys.stderr)
        return 1
    manifest = sentence_manifest(args.data_root)
    if manifest is None:
        return 1
    host = machine()
    decoded = {weights: decode(args.preset, weights, manifest) for weights in [args.reference, *candidates]}
    from training.asr_train import split_rows, voice_group

    rows = {split: split_rows(manifest, split) for split in SPLITS}
    splits = [split_line(split, rows[split], decoded[args.reference][split][0]) for split in SPLITS]
    counts = [str(len({voice_group(row) for row in rows[split]})) for split in SPLITS]
    section = write_section("asr-split-noise", "\n".join([
        "## Speech recognition: how far apart WERs must be to differ (`benchmarks/asr_split_noise.py`)",
        "",
        f"Machine: {host}. Preset `{args.preset}`, greedy decoding (in the graph) of the held-out-voice "
        f"splits of speech-sentences-synth ({'; '.join(splits)}). Each candidate minus the reference, with a "
        f"paired bootstrap ({args.resamples:,} resamples, scipy.stats.bootstrap, percentile interval): an "
        "interval that holds 0 means this split cannot tell the two apart. Resampling utterances treats them "
        "as independent, which utterances of one voice are not; resampling whole voice groups (a cluster "
        "bootstrap, `wer_difference(groups=...)`) asks whether another set of voices would agree, coarsely, "
        f"with only {' and '.join(counts)} groups. The last column "
        "counts the voice groups whose WER the candidate lowers.",
        "",
        table(args.preset, args.reference, candidates, decoded, rows, args.resamples),
    ]))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
