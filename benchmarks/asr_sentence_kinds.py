"""Where the recognisers' errors are: greedy test WER on commands (the grammar's templates) and on free
text (3-6 random common words, nothing to predict one word from the others), per preset.

    python benchmarks/asr_sentence_kinds.py [--presets a,b] [--weights preset=path,...]

Each preset's published weights (zoo.presets.load_preset), or a run's weights given with --weights,
decode the held-out-voice test split of speech-sentences-synth with the in-graph greedy decoder. The
table goes into docs/benchmarks.md between markers, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without `pip install -e`
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import machine, write_section  # noqa: E402

KINDS = ("commands", "free text")


def published_recognisers() -> list[str]:
    from zoo import hub
    from zoo.presets import WEIGHTS_FILE, list_presets

    index = hub.resolve_index()
    return [p.name for p in list_presets(task="recognition")
            if p.task_class == "SpeechRecognizer" and WEIGHTS_FILE in index.get(p.name, {}).get("files", {})]


def weights_label(name: str, weights: str | None) -> str:
    """How a table names the weights it measured: a run's path, or the published file with its sha256 (the
    hub republishes presets, so a bare "published" row would silently stop describing the hub's weights)."""
    if weights:
        return weights
    from zoo import hub
    from zoo.presets import WEIGHTS_FILE

    return f"published (sha256 {hub.resolve_index()[name]['files'][WEIGHTS_FILE]['sha256'][:8]})"


def measure(name: str, weights: str | None, manifest: Path) -> dict:
    from training.asr_train import decode_split, sentence_kind, split_rows, wer_by_group
    from zoo.metrics.asr import wer
    from zoo.presets import load_preset

    task = load_preset(name, weights_path=weights)
    refs, greedy, _, _ = decode_split(task, manifest, "test")
    rows = split_rows(manifest, "test")
    words = {k: 0 for k in KINDS}
    for row, ref in zip(rows, refs):
        words[sentence_kind(row)] += len(ref.split())
    return {"preset": name, "weights": weights_label(name, weights), "wer": wer(refs, greedy),
            "kinds": wer_by_group(rows, refs, greedy, key=sentence_kind), "words": words}


def table(results) -> str:
    from training.reports import markdown_table

    body = []
    for r in results:
        k = r["kinds"]
        errors = {kind: k[kind]["wer"] * r["words"][kind] for kind in KINDS}
        share = errors["free text"] / max(sum(errors.values()), 1e-9)
        body.append([f"`{r['preset']}`", r["weights"], f"{r['wer']:.2%}",
                     *[f"{k[kind]['wer']:.2%} ({k[kind]['utterances']} utt., {r['words'][kind]} words)"
                       for kind in KINDS], f"{share:.0%}"])
    return markdown_table(["preset", "weights", "test WER greedy", "commands", "free text",
                           "share of the errors in free text"], body)


def recognisers_and_corpus(argv, description):
    """The ASR benchmarks' command line: ([(preset, weights path or None)], manifest, args), or None (with
    a message) when the corpus is not generated."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--presets", default="", help="comma-separated (default: every published recogniser)")
    parser.add_argument("--weights", default="", help="preset=path,... : a run's weights instead of the hub's")
    parser.add_argument("--data_root", default="data")
    args = parser.parse_args(argv)
    weights = dict(item.split("=", 1) for item in args.weights.split(",") if item)
    names = [n for n in args.presets.split(",") if n] or published_recognisers()
    manifest = sentence_manifest(args.data_root)
    return None if manifest is None else ([(name, weights.get(name)) for name in names], manifest, args)


def sentence_manifest(data_root) -> Path | None:
    """The speech-sentences-synth manifest under data_root, or None (with a message) when not generated."""
    from training.corpora.registry import manifest_path

    manifest = manifest_path("speech-sentences-synth", data_root)
    if not manifest.exists():
        print(f"no corpus at {manifest}: run `zoo data make speech-sentences-synth` first", file=sys.stderr)
        return None
    return manifest


def main(argv=None):
    parsed = recognisers_and_corpus(argv, __doc__.splitlines()[0])
    if parsed is None:
        return 1
    recognisers, manifest, _ = parsed
    host = machine()
    results = [measure(name, weights, manifest) for name, weights in recognisers]
    section = write_section("asr-sentence-kinds", "\n".join([
        "## Speech recognition: commands vs free text (`benchmarks/asr_sentence_kinds.py`)",
        "",
        f"Machine: {host}. Greedy decoding (in the graph) of the held-out-voice test split of "
        "speech-sentences-synth. Commands: sentences of the grammar's templates (numbers, dates, times, "
        "devices); free text: 3-6 words drawn at random from the grammar's common-word list "
        "(`SentenceGrammar.is_free_text`), where neither a language model nor a prediction network can "
        "guess a word from its neighbours.",
        "",
        table(results),
    ]))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
