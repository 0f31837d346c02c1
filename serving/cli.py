"""`zoo serve` and `zoo query` (wired into zoo/cli.py by `add_serve_parser` / `add_query_parser`)."""

from __future__ import annotations

import json
import sys


def add_serve_parser(sub):
    from serving.server import add_arguments

    p = sub.add_parser("serve", help="TF-Serving-compatible model server (gRPC + REST) on exported SavedModels")
    add_arguments(p)
    p.set_defaults(func=cmd_serve)
    return p


def cmd_serve(args) -> int:
    from serving.server import serve

    return serve(args)


def add_query_parser(sub):
    p = sub.add_parser("query", help="query a running server over gRPC: recognize | separate | synthesize")
    p.add_argument("endpoint", choices=["recognize", "separate", "synthesize"])
    p.add_argument("inputs", nargs="+", help="audio files (recognize, separate) or texts (synthesize)")
    p.add_argument("--target", default="localhost:8500")
    p.add_argument("--model", help="model name on the server (default: the only one, or the endpoint's)")
    p.add_argument("--timeout", type=float, default=10.0, help="deadline per request, seconds")
    p.add_argument("--output-dir", default=".", help="where separate/synthesize write WAVs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_query)
    return p


def cmd_query(args) -> int:
    from pathlib import Path

    from serving.client import Client
    from zoo.audio import read_audio, write_audio
    from zoo.errors import ZooError

    model = args.model or args.endpoint
    failures = 0
    with Client(args.target, timeout=args.timeout) as client:
        for item in args.inputs:
            try:
                if args.endpoint == "synthesize":
                    wave = client.synthesize(model, item)[0]
                    path = Path(args.output_dir) / f"synth_{len(list(Path(args.output_dir).glob('synth_*.wav')))}.wav"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    write_audio(path, wave, client.sample_rate(model))
                    result = {"text": item, "wav": str(path), "seconds": round(wave.size / client.sample_rate(model), 3)}
                else:
                    audio, rate = read_audio(item, mono=True)
                    if args.endpoint == "recognize":
                        r = client.recognize(model, audio, sample_rate=rate)[0]
                        result = {"file": item, "label": r["label"], "score": round(r["score"], 6)}
                    else:
                        sources = client.separate(model, audio, sample_rate=rate)[0]
                        paths = []
                        for k, src in enumerate(sources):
                            path = Path(args.output_dir) / f"{Path(item).stem}_source{k}.wav"
                            path.parent.mkdir(parents=True, exist_ok=True)
                            write_audio(path, src, client.sample_rate(model))
                            paths.append(str(path))
                        result = {"file": item, "sources": paths}
            except ZooError as exc:
                failures += 1
                print(f"error: {item}: {exc}", file=sys.stderr)
                continue
            if args.json:
                print(json.dumps(result))
            elif "label" in result:
                print(f"{item}: {result['label']} ({result['score']:.1%})")
            else:
                print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 1 if failures else 0
