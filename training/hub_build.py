"""Model cards (docs/models/<preset>.md) generated from the preset definition, its hub/index.json
entry (files, sha256, metrics) and the training run's summary.json. Nothing is typed by hand, so a
card cannot drift from the checkpoint it describes."""

from __future__ import annotations

import json
from pathlib import Path

from training.recipe import PLACE_SETTINGS, whole_training
from zoo.presets import get_preset, read_hub_index


def _fmt_count(n) -> str:
    if n is None:
        return "not measured"
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"


def _fmt_pct(x) -> str:
    return "not measured" if x is None else f"{100 * float(x):.2f} %"


def _limitations(preset) -> list[str]:
    out = []
    corpus = str(preset.data.get("corpus", ""))
    if preset.task == "synthesis":
        from zoo.text.phoneme_lexicon import default_entries

        return [f"One voice: it imitates `{corpus}` (flite's slt voice, itself a synthesizer), so it cannot sound "
                "more natural than that voice.",
                f"Pronunciation comes from a {len(default_entries())}-entry lexicon (the sentence grammar's words, "
                "letters and digits, phonemized by espeak-ng): any other word is spelled letter by letter, and "
                "numbers must be written as words to be read as numbers (digits are read one by one).",
                "Intelligibility is measured with PocketSphinx against the reference voice's own recordings of "
                "held-out sentences (see the metrics); naturalness (MOS) is not measured."]
    if preset.data.get("synthetic_speech"):
        out.append(f"Trained and tested on `{corpus}`, speech made by text-to-speech voices: accuracy on "
                   "recorded human speech is not measured and will be lower.")
    clip = preset.task_config.get("clip_samples")
    if clip:
        out.append(f"Expects {clip / preset.sample_rate:g} s clips of mono audio at {preset.sample_rate} Hz; "
                   "other rates are resampled by `zoo.audio`; a longer file is reduced to its loudest window "
                   "(one keyword per file): for continuous audio use the streaming export.")
    labels = preset.labels or []
    if labels:
        out.append(f"Recognizes only its {len(labels)} labels; words outside them map to "
                   + ("`unknown`." if "unknown" in labels else "the closest label (there is no `unknown` class)."))
    if preset.task_class == "SpeechRecognizer":
        out.append("WER is measured on one fixed test split of voices never heard in training; it differs widely "
                   "between voices and dialects (the table above), and no language model is used.")
    else:
        out.append("Accuracy is measured on one fixed test split; per-class precision and recall are in the "
                   "test report.")
    return out


def _flat(metrics: dict, prefix: str = "") -> dict:
    """{"test": {"si_sdri": 2.6}} -> {"test.si_sdri": 2.6} (separation runs nest their test metrics)."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _recipe_lines(preset, entry, metrics, summary, run_dir: Path) -> list[str]:
    """The card's training settings and reproduce lines. A chain of runs (a fine-tune continuing
    earlier weights) shows the last run's own settings, not the preset's defaults."""
    known = "epochs_run" in metrics and "train_minutes" in metrics
    cost = f" ({metrics['epochs_run']} epochs, {metrics['train_minutes']} min on {metrics.get('machine', '?')})" \
        if known else ""
    if not summary.get("continued_from"):
        return [f"- training settings: `{json.dumps(preset.training, sort_keys=True)}`",
                f"- reproduce: `{entry.get('recipe', f'zoo train {preset.name}')}`" + cost]
    experiment = run_dir / "experiment.json"
    last = json.loads(experiment.read_text()) if experiment.exists() else {}
    last = {k: v for k, v in last.items() if k not in PLACE_SETTINGS}
    if last.get("accelerator_runs"):  # trained on a lent GPU machine (training.accelerator_separation)
        runs = last.pop("accelerator_runs")
        return [f"- training settings of the accelerator runs (in order): `{json.dumps(runs, sort_keys=True)}`; "
                f"examples: {last.get('mixtures', '?')} ({last.get('pack', {}).get('word_clips', '?')} clips of "
                f"{last.get('pack', {}).get('voices', '?')} voices)",
                f"- reproduce: `python -m training.accelerator_separation pack {preset.name} --out PACK --init "
                f"{runs[0].get('init_weights') or '<weights>'}`, then on the GPU machine `KERAS_BACKEND=jax python -m "
                f"training.accelerator_separation train {preset.name} --pack PACK --out RUN` with each run's settings "
                f"(each next run starting from the last's weights), then `python -m training.accelerator_separation "
                f"adopt {preset.name} --from RUN...`"
                + (f"; the whole chain {metrics['epochs_run']} epochs, {metrics['train_minutes']} min, the last run "
                   f"on {metrics.get('machine', '?')}" if known else "")]
    chain = (f"a chain of runs, `zoo train {preset.name}` and then each next run `zoo train {preset.name} --set "
             "init_weights=<the previous run's model.weights.h5>` with its settings")
    if last.get("average_runs"):  # a model soup of runs that continued the same weights (training.asr_train)
        runs = last.pop("average_runs")
        with_start = last.pop("average_with_start", False)
        return [f"- the weights are the average (a uniform model soup) of {len(runs)} runs that continued the same "
                + ("weights and those weights themselves" if with_start else "weights")
                + f"; their settings: `{json.dumps(runs, sort_keys=True)}`",
                f"- reproduce: {chain}; the last step trains each run above from the same weights and averages them "
                f"with `zoo train {preset.name} --set average_runs=RUN,RUN"
                + (" --set average_with_start=true`" if with_start else "`")
                + (f"; the whole chain, every averaged run counted, {metrics['epochs_run']} epochs, "
                   f"{metrics['train_minutes']} min, the last runs on {metrics.get('machine', '?')}" if known else "")]
    return [f"- training settings of the last run: `{json.dumps(last, sort_keys=True) if last else 'not recorded'}`",
            f"- reproduce: {chain}; the whole "
            + (f"chain {metrics['epochs_run']} epochs, {metrics['train_minutes']} min, the last run on "
               f"{metrics.get('machine', '?')}" if known else "chain's cost not recorded")]


def build_model_card(preset_name: str, run_dir, hub=None) -> str:
    """The Markdown model card of `preset_name` (docs/models/<preset>.md)."""
    preset = get_preset(preset_name)
    entry = read_hub_index(Path(hub) if hub else None).get(preset_name, {})
    summary_path = Path(run_dir) / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    metrics = {**entry.get("metrics", {}), **{k: v for k, v in summary.items() if k not in ("preset", "continued_from")},
               **whole_training(summary)}  # a fine-tune counts the runs before it
    by_group = metrics.pop("test_wer_greedy_by_group", None)  # a table of its own below
    files = entry.get("files", {})
    backbone = preset.backbone
    lines = [
        f"# {preset.name}",
        "",
        preset.description + ".",
        "",
        "| | |",
        "|---|---|",
        f"| task | {preset.task} (`{preset.task_class}`) |",
        f"| family | {preset.family} |",
        f"| paper | {preset.paper or '-'} |",
        f"| sample rate | {preset.sample_rate} Hz |",
        f"| parameters | {_fmt_count(metrics.get('params'))} ({metrics.get('params', '?')}) |",
        *([f"| MACs per clip (backbone) | {_fmt_count(metrics.get('macs'))} |",
           f"| test accuracy | {_fmt_pct(metrics['test_accuracy'])} on {metrics.get('test_examples', '?')} clips |"
           if "test_accuracy" in metrics else "| test accuracy | not measured |",
           f"| validation accuracy | {_fmt_pct(metrics.get('validation_accuracy'))} |",
           f"| latency | {metrics['latency_ms']} ms per clip |" if "latency_ms" in metrics else
           "| latency | not measured |"] if preset.task_class == "AudioClassifier" else []),
        f"| license | {preset.license} |",
        "",
        "## Metrics (as measured and stored in the hub index)",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
          for k, v in sorted(_flat(metrics).items()) if isinstance(v, (int, float, str)) and k != "machine"],
        *(["", "Greedy test WER per voice group (an espeak-ng dialect pools its voices):", "",
           "| voice group | utterances | WER |", "|---|---:|---:|",
           *[f"| {g} | {v['utterances']} | {_fmt_pct(v['wer'])} |" for g, v in by_group.items()]] if by_group else []),
        "",
        "## Architecture",
        "",
        (f"Frontend `{preset.frontend.get('class_name', '?')}` then backbone `{backbone.get('class_name', '?')}`:"
         if preset.frontend else f"Backbone `{backbone.get('class_name', '?')}` (it owns its signal transform):"),
        "",
        "```json",
        json.dumps({"frontend": preset.frontend, "backbone": backbone}, indent=2, sort_keys=True),
        "```",
        "",
        "## Data and training recipe",
        "",
        f"- corpus: `{preset.data.get('corpus', '?')}`, protocol `{preset.data.get('protocol', '-')}`",
        *([f"- labels ({len(preset.labels)}): {', '.join(preset.labels)}"] if preset.labels else []),
        *_recipe_lines(preset, entry, metrics, summary, Path(run_dir)),
        "",
        "## Files",
        "",
    ]
    if files:
        lines += ["| file | size | sha256 |", "|---|---:|---|"]
        lines += [f"| `{rel}` | {meta.get('size', 0) / 1024:.1f} KB | `{meta['sha256']}` |"
                  for rel, meta in sorted(files.items())]
        lines += ["", f"`zoo pull {preset.name}` downloads and verifies them; `zoo.load(\"{preset.name}\")` "
                  "loads the weights strictly."]
    else:
        lines.append(f"No pretrained files are published yet: run `zoo train {preset.name} --publish`.")
    for name, caption in (("learning_curve.png", "Learning curve"), ("confusion_test.png", "Test confusion matrix")):
        if name in files:
            lines += ["", f"![{caption}](../../hub/{preset.name}/{name})"]
    if "report_test.md" in files:
        what = ("WER per voice group and the first transcripts" if preset.task_class == "SpeechRecognizer"
                else "Per-class precision and recall")
        lines += ["", f"{what}: [report_test.md](../../hub/{preset.name}/report_test.md)."]
    lines += ["", "## Limitations", ""] + [f"- {item}" for item in _limitations(preset)]
    return "\n".join(lines) + "\n"


def write_model_card(preset_name: str, run_dir, docs_dir="docs/models", hub=None) -> Path:
    path = Path(docs_dir) / f"{preset_name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_model_card(preset_name, run_dir, hub=hub))
    return path


def build_presets(names, *, retrain: bool = False, runs_dir="runs", export_dir="exports", data_root="data",
                  docs_dir="docs/models", hub=None, export: bool = True, publish_artifacts: bool = True) -> list[dict]:
    """`zoo hub build`: per preset, train by its recipe (or reuse runs/<preset>/ when it holds a finished
    run of the same preset, or the hub's published weights when there is no run), publish weights +
    the metrics just measured into the hub index, write its model card, export SavedModel (+stream)
    and TFLite float32/int8 (whole clip and streaming) behind their parity gates, and publish those
    artifacts into the hub beside the weights (a TFLite variant that fails its gate is reported
    and left out; a SavedModel that fails stops the build)."""
    from export.cli import export_command
    from training import publish
    from training.train import train
    from zoo.errors import ExportError
    from zoo.presets import WEIGHTS_FILE

    entries = []
    for name in names:
        get_preset(name)  # unknown names fail before any work
        run_dir = Path(runs_dir) / name
        summary = run_dir / "summary.json"
        reusable = summary.exists() and json.loads(summary.read_text()).get("preset") == name
        published = WEIGHTS_FILE in read_hub_index(Path(hub) if hub else None).get(name, {}).get("files", {})
        weights = str(run_dir / WEIGHTS_FILE)
        if retrain or not (reusable or published):
            train(name, {"output_dir": str(runs_dir), "data_root": str(data_root)})
            reusable = True
        elif reusable:
            print(f"{name}: reusing the finished run in {run_dir} (pass --retrain to train again)")
        else:
            print(f"{name}: no run in {run_dir}; exporting the hub's published weights (pass --retrain to train)")
            weights = None
        if reusable:
            entry = publish.publish_run(name, run_dir, hub=hub)
            write_model_card(name, run_dir, docs_dir=docs_dir, hub=hub)
        if export:
            out = Path(export_dir) / name
            export_command(name, "saved_model", "float32", True, out / "saved_model", weights=weights,
                           data_root=data_root)
            artifacts = {"saved_model": out / "saved_model" / name / "1"}
            for streaming in (False, True):
                for precision in ("float32", "int8"):
                    kind = f"tflite_{'stream_' if streaming else ''}{precision}"
                    try:
                        export_command(name, "tflite", precision, streaming, out / "tflite", weights=weights,
                                       data_root=data_root)
                    except ExportError as exc:  # a gate failed: that artifact is not published
                        print(f"{name}: {kind} not published: {exc}")
                        continue
                    artifacts[kind] = out / "tflite" / f"{name}{'_stream' if streaming else ''}_{precision}.tflite"
            if publish_artifacts:
                entry = publish.publish_artifacts(name, artifacts, hub=hub)
                write_model_card(name, run_dir, docs_dir=docs_dir, hub=hub)
        entries.append(read_hub_index(Path(hub) if hub else None).get(name, {}))
    return entries
