"""Every speech-recognition family side by side: held-out-voice test WER (greedy and beam), params, training time.

    python benchmarks/asr_families.py [--train] [--presets a,b] [--publish] [--budget MIN]

With --train each preset is trained by its own recipe (`zoo train PRESET`, optionally with another
time budget); without it the script reads runs/<preset>/summary.json of earlier runs. The table goes
into docs/benchmarks.md between markers, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable from a checkout without `pip install -e`
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import machine, write_section  # noqa: E402


def asr_presets():
    from zoo.presets import list_presets

    return [p for p in list_presets(task="recognition") if p.task_class == "SpeechRecognizer"]


def decoder_name(p) -> str:
    decoder = p.task_config.get("decoder")
    name = {None: "CTC", "RNNTDecoder": "RNN-T", "LASSpeller": "attention"}.get(decoder and decoder["class_name"], "?")
    ctc_weight = (decoder or {}).get("config", {}).get("ctc_weight", 0)
    name = f"{name} + CTC (joint, weight {ctc_weight:g})" if ctc_weight else name
    tokens = {"CharTokenizer": "characters", "WordPieceTokenizer": "word pieces"}
    return f"{name}, {tokens.get(p.task_config['tokenizer']['class_name'], '?')}"


def table(rows) -> str:
    from training.recipe import whole_training
    from training.reports import markdown_table

    body = []
    for p, s in rows:
        if "carried" in s:  # a row of the previous table (decoder column rewritten: it names the tokens now)
            body.append([*s["carried"][:2], decoder_name(p), *s["carried"][3:]])
            continue
        s = {**s, **whole_training(s)}  # a fine-tune reports its whole training
        body.append([p.family, f"`{p.name}`", decoder_name(p), f"{s['params']:,}", f"{s['test_wer_greedy']:.2%}",
                     f"{s['test_wer_beam']:.2%} (w={s['beam_width']})", f"{s['test_cer_greedy']:.2%}",
                     f"{s['validation_wer_greedy']:.2%}", f"{s['train_minutes']:.1f}", s.get("updates", "?"),
                     s["epochs_run"], cores(s.get("machine", ""))])
    return markdown_table(HEADERS, body)


def cores(machine: str) -> str:
    """'x86_64 1 of 2 cores, Linux' -> '1 of 2' (a run pinned with taskset), 'x86_64 2 cores, ...' -> '2'."""
    import re

    found = re.search(r"(\d+(?: of \d+)?) cores", machine)
    return found.group(1) if found else "?"


def group_table(rows, data_root) -> str:
    """Greedy test WER per voice group (espeak-ng dialect or voice), each marked held out or not: which
    voices and dialects the errors come from. Only runs whose summary records the breakdown."""
    from training.asr_train import split_rows, voice_group
    from training.corpora.registry import manifest_path
    from training.reports import markdown_table

    rows = [(p, s) for p, s in rows if s.get("test_wer_greedy_by_group") or s.get("carried_groups")]
    if not rows:
        return ""
    manifest = manifest_path("speech-sentences-synth", data_root)
    seen = {voice_group(r) for r in split_rows(manifest, "train")} if manifest.exists() else set()
    measured = [s for _, s in rows if s.get("test_wer_greedy_by_group")]
    if not measured:
        return ""
    groups = list(measured[0]["test_wer_greedy_by_group"])
    body = []
    for g in groups:
        if g.startswith("espeak-ng:"):
            kind = "dialect seen, new voices" if g in seen else "dialect held out"
        else:
            kind = "voice seen" if g in seen else "voice held out"
        line = [f"`{g}`", kind, measured[0]["test_wer_greedy_by_group"][g]["utterances"]]
        line += [s["carried_groups"].get(g, "?") if "carried_groups" in s else
                 f"{s['test_wer_greedy_by_group'].get(g, {}).get('wer', float('nan')):.2%}" for _, s in rows]
        body.append(line)
    return markdown_table(["test voice group", "in training", "utterances", *[f"`{p.name}`" for p, _ in rows]],
                          body)


HEADERS = ["family", "preset", "decoder", "params", "test WER greedy", "test WER beam", "test CER greedy",
           "val WER greedy", "train min", "updates", "epochs", "last run's CPU cores"]


def previous_rows(doc=None) -> dict:
    """{preset: (main-table cells, {voice group column: cell})} of the asr-families section now in
    docs/benchmarks.md: rows of presets whose runs are not in --runs are carried over, not lost (the
    runs of earlier sessions live on other machines)."""
    from report import DOC

    text = Path(doc or DOC).read_text() if Path(doc or DOC).exists() else ""
    section = text.split("<!-- asr-families:begin -->")[-1].split("<!-- asr-families:end -->")[0] if text else ""
    rows, groups, header = {}, {}, None
    for line in section.splitlines():
        if not line.startswith("|"):
            header = None  # a table ended
            continue
        if line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif header[0] == "family":
            rows[cells[1].strip("`")] = cells
        elif header[0] == "test voice group":
            for name, cell in zip(header[3:], cells[3:]):
                groups.setdefault(name.strip("`"), {})[cells[0].strip("`")] = cell
    return {name: (cells, groups.get(name, {})) for name, cells in rows.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--publish", action="store_true")
    parser.add_argument("--presets", default="")
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--data_root", default="data")
    parser.add_argument("--budget", type=float, default=None, help="training minutes per preset (default: recipe)")
    parser.add_argument("--note", default="", help="a sentence on the run's conditions, printed under the table")
    args = parser.parse_args(argv)
    wanted = [p for p in asr_presets() if not args.presets or p.name in args.presets.split(",")]
    if args.train:
        from training.asr_train import train_asr

        for p in wanted:
            overrides = {"output_dir": args.runs}
            if args.budget:
                overrides["time_budget_min"] = args.budget
            train_asr(p.name, overrides)
    if args.publish:
        from training.publish import publish_run

        for p in wanted:
            if (Path(args.runs) / p.name / "summary.json").exists():
                publish_run(p.name, Path(args.runs) / p.name)
    rows, untrained, carried = [], [], []
    previous = previous_rows()
    for p in asr_presets():
        summary = Path(args.runs) / p.name / "summary.json"
        if summary.exists():
            rows.append((p, json.loads(summary.read_text())))
        elif p.name in previous and not args.train:
            cells, groups = previous[p.name]
            rows.append((p, {"carried": cells, "carried_groups": groups}))
            carried.append(f"`{p.name}`")
        else:
            untrained.append(f"`{p.name}`")
    measured = [s for _, s in rows if "carried" not in s]
    if not measured:
        print(f"no {args.runs}/<preset>/summary.json found: run with --train", file=sys.stderr)
        return 1
    section = write_section("asr-families", "\n".join([
        "## Speech recognition families (speech-sentences-synth, test split = voices never heard in training)",
        "",
        (f"Machine: {machine()} (training on its CPU cores, shared with other jobs; a run pinned to one core "
         "says so in the last column); TensorFlow " if args.train else
         "Rendered from each preset's recorded run (the last column gives the cores its last run trained on; the "
         "machines are named below the table); TensorFlow ") +
        f"{measured[0].get('tensorflow', '?')}. Each preset trained by `zoo train PRESET` under a wall-clock budget "
        "(learning rate annealed over the budget, best epoch by validation greedy WER); WER by jiwer over the "
        "character transcripts of the held-out-voice test split. Greedy decoding runs inside the exported graph; "
        "the beam search (CTC prefix beam search, RNN-T or attention beam search) outside it. A word-piece model "
        "writes whole words of its training transcripts as single tokens (characters for any other word). "
        "Reproduce: `python benchmarks/asr_families.py --train`.",
        "",
        table(rows),
        "",
        group_table(rows, args.data_root),
        "",
        f"Carried from the previous table (runs of earlier sessions, other machines): {', '.join(carried)}."
        if carried else "",
        f"Not trained in this run: {', '.join(untrained)}." if untrained else "",
        args.note,
    ]))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
