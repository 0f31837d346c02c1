"""Every keyword-spotting family side by side: params, MACs, held-out-voice test accuracy, training time.

    python benchmarks/kws_families.py [--train] [--presets a,b] [--publish]

With --train each preset is trained by its own recipe (`zoo train`), one after the other on this
machine; without it the script reads runs/<preset>/summary.json of earlier runs. The table goes into
docs/benchmarks.md between markers, with the machine it ran on.
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


def kws_presets():
    from zoo.presets import list_presets

    return [p for p in list_presets(task="recognition") if p.data.get("protocol") in ("kws12", "kws35")]


def table(rows) -> str:
    from training.reports import markdown_table

    body = []
    for p, s in rows:
        body.append([p.family, f"`{p.name}`", p.data["protocol"], f"{s['params']:,}", f"{s['macs'] / 1e6:.2f} M",
                     f"{s['test_accuracy']:.2%}", f"{s['validation_accuracy']:.2%}", f"{s['train_minutes']:.1f}",
                     s["epochs_run"]])
    return markdown_table(["family", "preset", "protocol", "params (task)", "MACs / 1 s clip (backbone)", "test acc (held-out voices)",
                           "val acc", "train min", "epochs"], body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--publish", action="store_true")
    parser.add_argument("--presets", default="")
    parser.add_argument("--runs", default="runs")
    args = parser.parse_args(argv)
    wanted = [p for p in kws_presets() if not args.presets or p.name in args.presets.split(",")]
    if args.train:
        from training.hub_build import write_model_card
        from training.publish import publish_run
        from training.train import train

        for p in wanted:
            train(p.name, {"output_dir": args.runs})
            if args.publish:
                publish_run(p.name, Path(args.runs) / p.name)
                write_model_card(p.name, Path(args.runs) / p.name)
    rows = []
    for p in kws_presets():
        summary = Path(args.runs) / p.name / "summary.json"
        if summary.exists():
            rows.append((p, json.loads(summary.read_text())))
    if not rows:
        print("no runs/<preset>/summary.json found: run with --train", file=sys.stderr)
        return 1
    section = write_section("kws-families", "\n".join([
        "## Keyword spotting families (speech-commands-synth, test split = voices never heard in training)",
        "",
        f"Machine: {machine()}; TensorFlow {rows[0][1].get('tensorflow', '?')}. Each preset trained by "
        "`zoo train PRESET` under its own time budget (see its recipe); accuracy measured by the Task "
        "(frontend in the graph) on the held-out-voice test split. Reproduce: "
        "`python benchmarks/kws_families.py --train`.",
        "",
        table(rows),
    ]))
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
