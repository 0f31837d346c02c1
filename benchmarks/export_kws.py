"""Export benchmark for the keyword spotters: one run, one machine, batch 1, one thread.

    python benchmarks/export_kws.py [--presets a,b] [--manifest M] [--eval-limit N] [--random-weights] [--no-doc]

Per preset: size, median and p99 latency and test accuracy of the Keras model (tf.function),
the SavedModel's `recognize` signature (in-process), TFLite float32 and TFLite int8 (ai-edge-litert,
XNNPACK, 1 thread); the streaming TFLite model's p99 per 20 ms hop; the file size and peak
activation memory of each TFLite model (export.tflite.memory_report). The table goes into
docs/benchmarks.md between markers, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def latency(fn, n: int, warmup: int = 5):
    import numpy as np

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times)), float(np.percentile(times, 99))


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_preset(name, manifest, args):
    import numpy as np
    import tensorflow as tf

    from export import tflite
    from export.parity import split_clips
    from export.saved_model import export_saved_model
    from export.streaming import make_streamer
    from training.pipeline import representative_waveforms
    from zoo.presets import build_task, get_preset, load_preset

    task = build_task(get_preset(name)) if args.random_weights else load_preset(name)
    waves, labels = split_clips(task, manifest, "test", limit=args.eval_limit)
    rep = representative_waveforms(manifest, "train", args.calibration, seed=0, clip_samples=task.clip_samples,
                                   sample_rate=task.sample_rate)
    x1 = waves[:1]
    rows = []

    def acc(scores):
        return float(np.mean(np.asarray(scores).argmax(1) == labels))

    keras_fn = tf.function(lambda x: task(x, training=False), input_signature=[
        tf.TensorSpec([None, task.clip_samples], tf.float32)])
    keras_scores = np.concatenate([keras_fn(waves[i:i + 256]).numpy() for i in range(0, len(waves), 256)])
    keras_acc = acc(keras_scores)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "w.weights.h5"
        task.save_weights(str(weights))
        med, p99 = latency(lambda: keras_fn(x1), args.runs)
        rows.append(dict(artifact="Keras (tf.function)", bytes=weights.stat().st_size, median=med, p99=p99,
                         accuracy=keras_acc))
        path = export_saved_model(task, Path(tmp) / "sm")
        fn = tf.saved_model.load(str(path)).signatures["recognize"]
        length = tf.constant([task.clip_samples], tf.int32)
        sm_scores = np.concatenate([fn(waveform=tf.constant(waves[i:i + 256]),
                                       waveform_length=tf.fill([len(waves[i:i + 256])], task.clip_samples))
                                    ["scores"].numpy() for i in range(0, len(waves), 256)])
        x1t = tf.constant(x1)
        med, p99 = latency(lambda: fn(waveform=x1t, waveform_length=length), args.runs)
        rows.append(dict(artifact="SavedModel recognize", bytes=dir_bytes(path), median=med, p99=p99,
                         accuracy=acc(sm_scores)))
    variants = [("float32", True, False), ("int8", True, False), ("int8", False, False)]
    if tflite.has_rolled_rnn(task):  # RNNs: WHILE loops by default; `zoo export --unroll` trades size for speed
        variants += [("float32", True, True), ("int8", True, True)]
    for precision, per_channel, unroll in variants:
        content = tflite.strip_debug_names(tflite.convert(task, precision, representative=rep, per_channel=per_channel,
                                                          unroll=unroll))
        runner = tflite.Runner(content, num_threads=1)
        med, p99 = latency(lambda: runner(waveform=x1), args.runs)
        mem = tflite.memory_report(content)
        label = f"TFLite {precision}" + ("" if per_channel else " per-tensor") + (" unrolled" if unroll else "")
        rows.append(dict(artifact=label, bytes=len(content), median=med, p99=p99,
                         accuracy=acc(runner.scores(waves)), activations=mem["activation_peak"]))
    streamer = make_streamer(task)
    for precision in ("float32", "int8"):
        content = tflite.strip_debug_names(tflite.convert(task, precision, representative=rep, streaming=True))
        runner = tflite.Runner(content, num_threads=1)
        state = streamer.initial_state(1)
        hop = np.zeros((1, streamer.hop_samples), np.float32)

        def one_hop():
            nonlocal state
            out = runner(audio=hop, **state)
            state = {k: out[k] for k in state}

        med, p99 = latency(one_hop, args.runs * 2)
        # Streaming runs hop by hop, so it is scored on a random subset (the manifest is sorted by word:
        # its first clips are a few classes only); Δ compares with Keras on that same subset.
        subset = np.sort(np.random.default_rng(0).permutation(len(waves))[:args.stream_eval])
        scores = np.stack([runner.stream(waves[i], streamer.initial_state(1))[-1] for i in subset])
        mem = tflite.memory_report(content)
        rows.append(dict(artifact=f"TFLite {precision} streaming ({streamer.kind}), per hop", bytes=len(content),
                         median=med, p99=p99, accuracy=float(np.mean(scores.argmax(1) == labels[subset])),
                         activations=mem["activation_peak"], accuracy_examples=len(subset),
                         reference_accuracy=float(np.mean(keras_scores[subset].argmax(1) == labels[subset]))))
    return {"preset": name, "examples": int(len(labels)), "rows": rows}


def table(results) -> str:
    from training.reports import markdown_table

    body = []
    for res in results:
        keras_acc = res["rows"][0]["accuracy"]
        for r in res["rows"]:
            delta = (r["accuracy"] - r.get("reference_accuracy", keras_acc)) * 100
            n = r.get("accuracy_examples", res["examples"])
            body.append([f"`{res['preset']}`", r["artifact"], f"{r['bytes'] / 1024:.0f}",
                         f"{r['activations'] / 1024:.0f}" if "activations" in r else "-",
                         f"{r['median']:.3f}", f"{r['p99']:.3f}", f"{r['accuracy']:.2%} ({n})", f"{delta:+.1f}"])
    return markdown_table(["preset", "artifact", "size KB", "peak activations KB", "median ms", "p99 ms",
                           "test acc (clips)", "Δ vs Keras on the same clips (points)"], body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="", help="comma-separated; default every KWS preset")
    parser.add_argument("--manifest", help="corpus manifest (default: the preset's corpus under --data-root)")
    parser.add_argument("--data-root", default=os.environ.get("ZOO_DATA", "data"))
    parser.add_argument("--eval-limit", type=int, default=None, help="first N test clips only")
    parser.add_argument("--stream-eval", type=int, default=500, help="test clips run hop by hop for streaming")
    parser.add_argument("--calibration", type=int, default=200, help="int8 representative clips")
    parser.add_argument("--runs", type=int, default=200, help="timed invocations per artifact")
    parser.add_argument("--random-weights", action="store_true", help="smoke test without trained weights")
    parser.add_argument("--no-doc", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from kws_families import kws_presets
    from report import machine, write_section

    from export import tflite

    names = [p.name for p in kws_presets() if not args.presets or p.name in args.presets.split(",")]
    results = []
    for name in names:
        manifest = args.manifest
        if manifest is None:
            from training.corpora.registry import make_corpus
            from zoo.presets import get_preset

            manifest = make_corpus(get_preset(name).data["corpus"], args.data_root)
        results.append(bench_preset(name, manifest, args))
        print(table(results[-1:]), flush=True)
    body = "\n".join([
        "## Export: Keras vs SavedModel vs TFLite (batch 1, one thread)",
        "",
        f"Machine: {machine()}; TensorFlow {tf.__version__}. Latency of one 1 s clip (streaming: one 20 ms hop) "
        f"over {args.runs} runs; TFLite via ai-edge-litert (XNNPACK, 1 thread); int8 keeps the log-mel frontend "
        "in float (its mel filterbank stored as band blocks; a whole clip is transformed in pieces of at most "
        f"{tflite.FRONTEND_FRAMES_PER_CHUNK} frames, export.tflite.frame_chunking); streaming int8 keeps the sample buffer and feature ring in float; internal tensor names stripped as `zoo export` does; int8 uses per-channel weight scales, \"per-tensor\" "
        "one scale per tensor (`zoo export --per-tensor`); RNN presets keep their recurrences as WHILE loops (int8 calibrated by export.calibration), \"unrolled\" as fixed steps (`zoo export --unroll`). Peak activations = largest set of simultaneously live tensors, loop subgraphs' arenas added (export.tflite.memory_report). "
        "Reproduce: `python benchmarks/export_kws.py`." + (" RANDOM WEIGHTS (smoke run)." if args.random_weights
                                                            else ""),
        "",
        table(results),
    ])
    section = body if args.no_doc else write_section("export-kws", body)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
