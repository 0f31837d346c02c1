"""What a closed vocabulary buys the beam searches: test WER greedy, beam, and beam kept to the words of
the training transcripts, overall and per sentence kind, with the decoders' time per utterance.

    python benchmarks/asr_lexicon.py [--presets a,b] [--weights preset=path,...] [--data_root data]

Each preset's published weights (or a run's, with --weights) decode the held-out-voice test split of
speech-sentences-synth; the lexicon is every word of the train split's transcripts (no test transcript
leaks into it; the share of test words it misses is reported). The table goes into docs/benchmarks.md
between markers, with the machine it ran on.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without `pip install -e`
sys.path.insert(0, str(ROOT / "benchmarks"))
from asr_sentence_kinds import KINDS, recognisers_and_corpus, weights_label  # noqa: E402
from report import machine, write_section  # noqa: E402

BEAM_WIDTH = 8


def measure(name: str, weights: str | None, manifest: Path) -> dict:
    from training.asr_train import decode_split, sentence_kind, split_rows, train_words, wer_by_group
    from zoo.metrics.asr import wer
    from zoo.presets import load_preset

    task = load_preset(name, weights_path=weights)
    words = train_words(task, manifest)
    seconds = {}
    refs, greedy, beam, kept = decode_split(task, manifest, "test", beam_width=BEAM_WIDTH, lexicon=words,
                                            seconds=seconds)
    rows = split_rows(manifest, "test")
    test_words = [w for ref in refs for w in ref.split()]
    known = set(words)
    out = {"preset": name, "weights": weights_label(name, weights), "lexicon_words": len(known),
           "oov": sum(w not in known for w in test_words) / max(len(test_words), 1),
           "per_utterance_ms": {k: 1000 * v / max(len(refs), 1) for k, v in seconds.items()}}
    for key, hyps in (("greedy", greedy), ("beam", beam), ("beam_lexicon", kept)):
        out[key] = {"all": wer(refs, hyps),
                    **{k: v["wer"] for k, v in wer_by_group(rows, refs, hyps, key=sentence_kind).items()}}
    return out


def table(results) -> str:
    from training.reports import markdown_table

    body = []
    for r in results:
        cells = [f"`{r['preset']}`", r["weights"], f"{r['lexicon_words']} ({r['oov']:.2%})"]
        for key in ("greedy", "beam", "beam_lexicon"):
            cells.append(" / ".join(f"{r[key][k]:.2%}" if k in r[key] else "-" for k in ("all", *KINDS)))
        ms = r["per_utterance_ms"]
        cells.append(f"{ms['beam']:.0f} / {ms['beam_lexicon']:.0f}")
        body.append(cells)
    return markdown_table(["preset", "weights", "lexicon words (test words outside it)",
                           "greedy: all / commands / free text", f"beam (w={BEAM_WIDTH})",
                           "beam + lexicon", "ms per utterance: beam / beam + lexicon"], body)


def main(argv=None):
    parsed = recognisers_and_corpus(argv, __doc__.splitlines()[0])
    if parsed is None:
        return 1
    recognisers, manifest, args = parsed
    host = machine()
    results = [measure(name, weights, manifest) for name, weights in recognisers]
    section = write_section("asr-lexicon", "\n".join([
        "## Speech recognition: beam search kept to a lexicon (`benchmarks/asr_lexicon.py`)",
        "",
        f"Machine: {host}, one process. Held-out-voice test split of speech-sentences-synth "
        f"(corpus at `{args.data_root}`); lexicon: the words of its train split's transcripts "
        "(`zoo.decoding.lexicon.Lexicon`: a beam extension must keep spelling a listed word, a word boundary "
        "must close one, and the best hypothesis whose last word is complete wins). WER over all / commands / "
        "free text; time per utterance is the beam search alone (numpy, outside the graph), after the encoder.",
        "",
        table(results),
    ]))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
