"""The `zoo` command. The CLI is the application layer: it composes zoo/ (the library) with
training/, export/ and serving/, importing them lazily inside each command so that
`zoo list` stays fast. Errors a user can fix print one clear line, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys

from zoo.errors import ZooError

# Corpus scales (*_free: speech-sentences-synth only, with more free text in its train split).
SCALES = ("tiny", "small", "full", "tiny_free", "full_free")


def _quiet_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cmd_list(args):
    from zoo.presets import list_presets

    presets = list_presets(task=args.task)
    if args.json:
        for p in presets:
            print(json.dumps({"name": p.name, "task": p.task, "family": p.family, "sample_rate": p.sample_rate,
                              "license": p.license, "metrics": p.metrics,
                              "size": sum(f["size"] for f in p.files.values())}))
        return 0
    print(f"{'preset':28} {'task':12} {'family':10} {'rate':>6} {'size':>9} {'test metric':>9}  license")
    for p in presets:
        size = sum(f["size"] for f in p.files.values())
        acc, wer = p.metrics.get("test_accuracy"), p.metrics.get("test_wer_greedy")
        test = p.metrics.get("test") if isinstance(p.metrics.get("test"), dict) else {}
        if acc is not None:
            metric = f"{acc:.2%}"
        elif wer is not None:
            metric = f"WER {wer:.1%}"
        elif "si_sdri" in test:
            metric = f"{test['si_sdri']:.1f} dB SI-SDRi"
        elif "pesq" in test:
            metric = f"PESQ {test['pesq']:.2f}"
        elif "pocketsphinx_wer_ratio" in (p.metrics.get("intelligibility") or {}):
            metric = f"WER x{p.metrics['intelligibility']['pocketsphinx_wer_ratio']:.2f} of reference"
        else:
            metric = "no weights" if not size else "not measured"
        print(f"{p.name:28} {p.task:12} {p.family:10} {p.sample_rate:>6} "
              f"{(f'{size / 1024:.0f} KB' if size else '-'):>9} {metric:>9}  {p.license}")
    return 0


def cmd_info(args):
    from zoo.presets import get_preset

    p = get_preset(args.preset)
    card = p.to_json()
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    print(f"{p.name}: {p.description}")
    print(f"  task {p.task} ({p.task_class}), family {p.family}, {p.sample_rate} Hz, license {p.license}")
    if p.paper:
        print(f"  paper: {p.paper}")
    print(f"  labels: {', '.join(p.labels or [])}")
    print(f"  data: {p.data}")
    print(f"  training recipe: zoo train {p.name}   ({p.training})")
    for key, value in p.metrics.items():
        print(f"  metric {key}: {value}")
    for name, f in p.files.items():
        print(f"  file {name}: {f['size']} bytes, sha256 {f['sha256']}")
    if not p.files:
        print("  no pretrained files yet: run `zoo train` to make them")
    return 0


def cmd_data_list(args):
    from training.corpora.registry import CORPORA

    for name, (_, description) in sorted(CORPORA.items()):
        print(f"{name:24} {description}")
    return 0


def cmd_data_make(args):
    from training.corpora.registry import make_corpus

    path = make_corpus(args.name, args.root, seed=args.seed, scale=args.scale, progress=not args.quiet)
    print(path)
    return 0


def cmd_train(args):
    _quiet_tf()
    from training.experiment import parse_set_args
    from training.train import train
    from zoo.presets import get_preset

    overrides = parse_set_args(args.set)
    overrides.setdefault("data_root", args.data_root)
    overrides.setdefault("output_dir", args.output_dir)
    if get_preset(args.preset).task_class == "SpeechRecognizer":
        from training.asr_train import train_asr as train
    if get_preset(args.preset).task_class == "SourceSeparator":
        from training.separation_train import train_separator as train
    if get_preset(args.preset).task_class == "TextToSpeech":
        from training.tts_train import train_tts as train
    summary = train(args.preset, overrides, verbose=2 if args.verbose else 1)
    if args.publish:
        from pathlib import Path

        from training.publish import publish_run

        publish_run(args.preset, Path(args.output_dir) / args.preset)
        print(f"published {args.preset} to the hub")
    return 0 if summary else 1


def cmd_eval(args):
    _quiet_tf()
    from pathlib import Path

    import zoo
    from training.corpora.registry import make_corpus
    from training.evaluate import evaluate_task

    task = zoo.load(args.preset, weights_path=args.weights)
    if args.lexicon is not None and task.signature().kind != "sequence":
        print(f"error: --lexicon needs a speech-to-text preset; {args.preset} is a {type(task).__name__}, "
              "which writes no text", file=sys.stderr)
        return 2
    lexicon = None  # --lexicon FILE is read before any corpus is generated, so a bad file fails fast
    if args.lexicon not in (None, "train"):
        from zoo.decoding.lexicon import read_lexicon_words

        lexicon = read_lexicon_words(args.lexicon)
    manifest = make_corpus(task.preset.data["corpus"], args.data_root, scale=args.scale)
    out_dir = Path(args.output_dir) / args.preset
    if task.signature().kind == "sequence":
        from training.asr_train import evaluate_asr, train_words

        if args.lexicon == "train":
            lexicon = train_words(task, manifest)
        out_dir.mkdir(parents=True, exist_ok=True)
        metrics = evaluate_asr(task, manifest, args.split, lexicon=lexicon, out_dir=out_dir)
        with_lexicon = (f", {metrics['wer_beam_lexicon']:.2%} beam + lexicon ({metrics['lexicon_words']} words)"
                        if lexicon is not None else "")
        print(f"{args.preset} on {args.split}: WER {metrics['wer_greedy']:.2%} greedy, "
              f"{metrics['wer_beam']:.2%} beam (width {metrics['beam_width']}){with_lexicon} over "
              f"{metrics['num_utterances']} utterances")
        print(f"report: {out_dir / f'report_{args.split}.md'}")
        return 0
    metrics = evaluate_task(task, manifest, args.split, out_dir=out_dir)
    print(f"{args.preset} on {args.split}: accuracy {metrics['accuracy']:.2%} over {metrics['num_examples']} clips")
    print(f"report: {out_dir / f'report_{args.split}.md'}")
    return 0


def cmd_predict(args):
    _quiet_tf()
    import zoo
    from zoo.audio import read_audio, read_wav_pcm16, resample

    task = zoo.load(args.preset, weights_path=args.weights)
    if task.kind == "synthesis" or args.text is not None:
        return _predict_text(task, args)
    if not args.files:
        print("error: give audio files to predict (or --text for a synthesis preset)", file=sys.stderr)
        return 2
    decoding = {}  # sequence recognisers: beam search, optionally kept to a word list
    if args.beam_width is not None or args.lexicon is not None:
        if task.signature().kind != "sequence":
            print(f"error: --beam-width and --lexicon need a speech-to-text preset; {args.preset} is a "
                  f"{type(task).__name__}, which writes no text", file=sys.stderr)
            return 2
        if args.beam_width is None or args.beam_width < 1:
            print(f"error: --beam-width must be an int >= 1 (e.g. 8), got {args.beam_width}" if args.beam_width
                  is not None else "error: --lexicon keeps a beam search to its words: give --beam-width 8 too",
                  file=sys.stderr)
            return 2
        from zoo.decoding.lexicon import read_lexicon_words

        # built once for every file; a bad file is a ZooError: main prints it, exit 2
        lexicon = None if args.lexicon is None else task.lexicon(read_lexicon_words(args.lexicon))
        decoding = {"beam_width": args.beam_width, "lexicon": lexicon}
    failures = 0
    for path in args.files:
        try:
            if str(path).lower().endswith(".wav"):
                # Same contract as the serving *_wav endpoint (tf.audio.decode_wav): 16-bit PCM only.
                waveform, rate = read_wav_pcm16(path, mono=True, max_seconds=args.max_seconds)
                waveform = resample(waveform, rate, task.sample_rate)
            else:
                waveform, _ = read_audio(path, sample_rate=task.sample_rate, mono=True,
                                         max_seconds=args.max_seconds)
            result = task.predict_waveform(waveform, **decoding)
        except ZooError as exc:
            failures += 1
            print(f"error: {path}: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"file": path, "error": str(exc)}))
            continue
        if "sources" in result:  # separators: one WAV per estimated source
            print(json.dumps({"file": path, "sources": _write_sources(path, result, args.out)}))
            continue
        if "text" in result:  # sequence recognisers: the transcript
            print(json.dumps({"file": path, "text": result["text"]}) if args.json else f"{path}\t{result['text']}")
            continue
        if args.json:
            print(json.dumps({"file": path, "label": result["label"], "score": round(result["score"], 6)}))
        else:
            print(f"{path}: {result['label']} ({result['score']:.1%})")
    return 1 if failures else 0


def _predict_text(task, args):
    """`zoo predict TTS_PRESET --text "..." --out FILE.wav`: synthesize in-process, write 16-bit PCM."""
    from pathlib import Path

    import soundfile as sf

    if task.kind != "synthesis" or args.text is None or args.files:
        print(f"error: --text needs a synthesis preset and no audio files; {args.preset} is a {task.kind} preset"
              if task.kind != "synthesis" else
              f"error: {args.preset} synthesizes speech: pass --text \"...\" (and --out FILE.wav), not files",
              file=sys.stderr)
        return 2
    try:
        result = task.predict_text(args.text)
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out or "synthesized.wav")
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), result["waveform"].clip(-1.0, 1.0), result["sample_rate"], subtype="PCM_16")
    seconds = len(result["waveform"]) / result["sample_rate"]
    print(json.dumps({"text": args.text, "file": str(out), "seconds": round(seconds, 3),
                      "sample_rate": result["sample_rate"]}))
    return 0


def _write_sources(path, result, out_dir):
    """Write result["sources"] [S, T] as <out_dir>/<stem>_source<i>.wav (16-bit PCM); their paths."""
    from pathlib import Path

    import soundfile as sf

    out = Path(out_dir or ".")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, source in enumerate(result["sources"]):
        target = out / f"{Path(path).stem}_source{i + 1}.wav"
        sf.write(str(target), source.clip(-1.0, 1.0), result["sample_rate"], subtype="PCM_16")
        written.append(str(target))
    return written


def cmd_export(args):
    _quiet_tf()
    from export.cli import export_command

    return export_command(args.preset, args.format, args.precision, args.streaming, args.output,
                          weights=args.weights, data_root=args.data_root, scale=args.scale,
                          version=args.model_version, per_channel=not args.per_tensor,
                          keep_names=args.keep_names, unroll=args.unroll)


def cmd_pull(args):
    from zoo.hub import pull_command

    return pull_command(args.preset, offline=args.offline, hub_url=args.hub_url, quiet=args.quiet)


def cmd_hub_serve(args):
    from zoo.hub_server import serve_hub

    serve_hub(args.dir, port=args.port, host=args.host)
    return 0


def cmd_hub_build(args):
    _quiet_tf()
    from training.hub_build import build_presets

    build_presets(args.presets, retrain=args.retrain, runs_dir=args.runs_dir, export_dir=args.export_dir,
                  data_root=args.data_root, export=not args.no_export)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from zoo import __version__

    parser = argparse.ArgumentParser(prog="zoo", description="Audio model zoo: data, train, evaluate, predict, export, pull, serve, query.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="presets with size, metric, sample rate, license")
    p.add_argument("--task", choices=["recognition", "separation", "synthesis"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="model card of a preset")
    p.add_argument("preset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    data = sub.add_parser("data", help="generate corpora").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("list", help="corpora that can be generated")
    p.set_defaults(func=cmd_data_list)
    p = data.add_parser("make", help="generate a corpus (deterministic, cached)")
    p.add_argument("name")
    p.add_argument("--root", default=os.environ.get("ZOO_DATA", "data"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", default="full", choices=SCALES,
                   help="*_free: speech-sentences-synth with 4.1x the free text in its train split")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_data_make)

    p = sub.add_parser("train", help="train a preset from its recipe")
    p.add_argument("preset")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override an experiment setting")
    p.add_argument("--data-root", default=os.environ.get("ZOO_DATA", "data"))
    p.add_argument("--output-dir", default="runs")
    p.add_argument("--publish", action="store_true", help="copy the result into hub/ (index.json, sha256)")
    p.add_argument("--verbose", action="store_true", help="one line per epoch instead of progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a preset: accuracy, per-class P/R, confusion matrix, report")
    p.add_argument("preset")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"])
    p.add_argument("--weights", help="weights file instead of the hub's (e.g. runs/PRESET/model.weights.h5)")
    p.add_argument("--data-root", default=os.environ.get("ZOO_DATA", "data"))
    p.add_argument("--scale", default="full", choices=SCALES, help="the corpus scale (its test split is the same "
                   "at full and full_free; --lexicon train reads the train split of this scale)")
    p.add_argument("--output-dir", default="runs")
    p.add_argument("--lexicon", metavar="FILE|train",
                   help="speech recognisers: also score the beam search kept to a word list (one word per line; "
                        "'train': the words of the training transcripts)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="classify, transcribe or separate audio files; synthesize --text")
    p.add_argument("preset")
    p.add_argument("files", nargs="*")
    p.add_argument("--text", help="synthesis presets: the sentence to speak (written to --out, a WAV path)")
    p.add_argument("--json", action="store_true", help="one JSON object per file: file, label, score")
    p.add_argument("--weights", help="weights file instead of the hub's")
    p.add_argument("--max-seconds", type=float, default=600.0, help="refuse longer files")
    p.add_argument("--beam-width", type=int, help="speech recognisers: beam search of this width instead of greedy")
    p.add_argument("--lexicon", metavar="FILE", help="speech recognisers, with --beam-width: keep the beam to "
                   "these words (one per line)")
    p.add_argument("--out", help="separation presets: folder for one WAV per estimated source (default: .); "
                                 "synthesis presets: the WAV file to write (default: synthesized.wav)")
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("export", help="export a preset behind its parity gates (SavedModel for TF Serving, TFLite)")
    p.add_argument("preset")
    p.add_argument("--format", required=True, choices=["saved_model", "tflite"])
    p.add_argument("--precision", default="float32", choices=["float32", "float16", "dynamic", "int8"])
    p.add_argument("--streaming", action="store_true", help="stream endpoint / model: one 20 ms hop per call")
    p.add_argument("--per-tensor", action="store_true",
                   help="int8: one scale per weight tensor (smaller file; the accuracy gate judges the loss)")
    p.add_argument("--keep-names", action="store_true",
                   help="TFLite: keep internal tensor names (debugging; 2-3x larger unrolled RNNs)")
    p.add_argument("--unroll", action="store_true",
                   help="TFLite, RNN presets: fixed steps instead of WHILE loops (larger file; faster for some "
                        "models; docs/deployment.md)")
    p.add_argument("--output", required=True)
    p.add_argument("--weights", help="weights file instead of the hub's")
    p.add_argument("--model-version", type=int, default=1, help="SavedModel version folder")
    p.add_argument("--data-root", default=os.environ.get("ZOO_DATA", "data"))
    p.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("pull", help="verified download of a preset's files into the cache (ZOO_HOME)")
    p.add_argument("preset")
    p.add_argument("--offline", action="store_true",
                   help="no network (also ZOO_OFFLINE=1): verify the cache, or copy from a local hub folder")
    p.add_argument("--hub-url", help="hub folder or URL (default: ZOO_HUB_URL, else the repository's hub/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_pull)

    hub = sub.add_parser("hub", help="hub tools").add_subparsers(dest="hub_command", required=True)
    p = hub.add_parser("serve", help="serve a hub folder over HTTP with byte ranges (mirrors, tests)")
    p.add_argument("dir")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to bind; 0.0.0.0 serves other machines")
    p.set_defaults(func=cmd_hub_serve)
    p = hub.add_parser("build", help="train (or reuse a finished run), evaluate, publish, card and export presets")
    p.add_argument("presets", nargs="+")
    p.add_argument("--retrain", action="store_true", help="train even when runs/PRESET holds a finished run")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--export-dir", default="exports")
    p.add_argument("--data-root", default=os.environ.get("ZOO_DATA", "data"))
    p.add_argument("--no-export", action="store_true", help="publish weights and write the card only (no artifacts)")
    p.set_defaults(func=cmd_hub_build)

    # serving/ builds its own parsers; importing them does not load TensorFlow.
    from serving.cli import add_query_parser, add_serve_parser

    add_serve_parser(sub)  # zoo serve --model_config_file F --port 8500 --rest_api_port 8501
    add_query_parser(sub)  # zoo query recognize FILE... --target localhost:8500 --model NAME
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
