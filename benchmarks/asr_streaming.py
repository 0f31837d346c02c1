"""Streaming CTC on TFLite: float32 parity gate (streamed TFLite logits and greedy transcripts vs the
whole-utterance Keras model), the streamed transcripts' WER, and latency per 10 ms hop (p50/p99, one
thread, XNNPACK) of the causal DeepSpeech2 preset.

    python benchmarks/asr_streaming.py [--preset asr_deepspeech2_causal_synth] [--weights FILE] [--hops 2000] [--utterances 100]

Uses the preset's published weights when the hub has them (else --weights, else random weights: the
latency does not depend on the values and the gate compares two implementations of the same
function). The result goes into docs/benchmarks.md between markers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import machine, write_section  # noqa: E402

TOLERANCE = 1e-4


def load(preset, weights):
    import zoo
    from zoo.errors import CheckpointError

    try:
        return zoo.load(preset, weights_path=weights), "trained"
    except CheckpointError:
        return zoo.load(preset, weights=False), "random"


def greedy_text(task, logits) -> str:
    """The exported graph's greedy CTC decoding of one utterance's logits f32[T, V]."""
    ids, length = task.decode_greedy(logits[None].astype(np.float32), np.array([len(logits)], np.int32))
    return task.ids_to_text(ids, length).numpy()[0].decode("utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="asr_deepspeech2_causal_synth")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--hops", type=int, default=2000)
    parser.add_argument("--utterances", type=int, default=100, help="test utterances streamed through the gate")
    args = parser.parse_args(argv)

    from export.streaming import make_streamer
    from export.tflite import Runner, convert
    from training.asr_train import split_rows
    from training.corpora.registry import make_corpus
    from zoo.audio import read_audio
    from zoo.metrics.asr import wer

    task, weights = load(args.preset, args.weights)
    streamer = make_streamer(task)
    content = convert(task, "float32", streaming=True)
    runner = Runner(content, num_threads=1)
    manifest = make_corpus(task.preset.data["corpus"], ROOT / "data", scale="full", progress=False)
    rows = split_rows(manifest, "test")[:args.utterances]
    worst, same_text, refs, streamed_text = 0.0, 0, [], []
    for row in rows:
        wave, _ = read_audio(Path(manifest).parent / row["path"], sample_rate=task.sample_rate, mono=True)
        n = len(wave) // streamer.hop_samples * streamer.hop_samples
        whole = task({"waveform": wave[None, :n].astype(np.float32),
                      "waveform_length": np.array([n], np.int32)})["logits"].numpy()[0]
        state, frames = streamer.initial_state(1), []
        for k in range(n // streamer.hop_samples):
            out = runner(audio=wave[None, k * streamer.hop_samples:(k + 1) * streamer.hop_samples]
                         .astype(np.float32), **state)
            state = {name: out[name] for name in state}
            if int(out["valid"][0]):
                frames.append(out["logits"][0])
        worst = max(worst, float(np.max(np.abs(np.stack(frames) - whole))))
        texts = [greedy_text(task, logits) for logits in (np.stack(frames), whole)]
        same_text += texts[0] == texts[1]
        streamed_text.append(texts[0])
        refs.append(task.written_text(row["text"]))
    passed = worst <= TOLERANCE and same_text == len(rows)
    # Latency: hops of a long stream (state carried), after a warm-up.
    rng = np.random.default_rng(0)
    state = streamer.initial_state(1)
    times = []
    for k in range(args.hops + 50):
        audio = (0.1 * rng.standard_normal((1, streamer.hop_samples))).astype(np.float32)
        t0 = time.perf_counter()
        out = runner(audio=audio, **state)
        elapsed = time.perf_counter() - t0
        state = {name: out[name] for name in state}
        if k >= 50:
            times.append(elapsed * 1e3)
    p50, p99 = np.percentile(times, [50, 99])
    section = write_section("asr-streaming", "\n".join([
        "## Streaming CTC on TFLite (causal DeepSpeech2, one 10 ms hop per call)",
        "",
        f"Machine: {machine()} (shared with other jobs while measured); ai-edge-litert, 1 thread, XNNPACK. "
        f"Preset `{args.preset}` ({weights} weights), float32, {len(content) / 1e6:.2f} MB. Reproduce: "
        "`python benchmarks/asr_streaming.py`.",
        "",
        "| gate | max abs diff (streamed TFLite vs whole-utterance Keras logits) | tolerance | result |",
        "|---|---|---|---|",
        f"| float32 stream parity, {len(rows)} test utterances | {worst:.2e} | {TOLERANCE:g} | "
        f"{'pass' if worst <= TOLERANCE else 'FAIL'} |",
        "",
        "| streamed greedy transcript == whole-utterance greedy transcript | greedy WER of the streamed transcripts |",
        "|---|---|",
        f"| {same_text}/{len(rows)} utterances | "
        + (f"{wer(refs, streamed_text):.2%} (first {len(rows)} held-out-voice test utterances) |"
           if weights == "trained" else "not meaningful with random weights |"),
        "",
        "| hops timed | p50 per hop | p99 per hop | real-time budget per hop |",
        "|---|---|---|---|",
        f"| {len(times)} | {p50:.3f} ms | {p99:.3f} ms | 10 ms |",
    ]))
    print(section)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
