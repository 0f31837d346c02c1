"""Parity gates (DESIGN.md 4.10): an artifact ships only if it matches the Keras model.

  Keras vs SavedModel               max |scores diff| <= 1e-5
  Keras vs TFLite float32/float16   max |scores diff| <= 1e-4 (float16: 1e-2, half-precision weights)
  streaming vs whole utterance      max |scores diff| <= 1e-5 (SavedModel stream), 1e-4 (TFLite)
  int8 / dynamic-range TFLite       accuracy on the test split >= Keras accuracy - 1 point

Every gate returns a GateResult; `enforce` raises ExportError on any failure; `write_report` writes
parity.json and parity.md beside the artifact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from zoo.errors import ExportError

TOL_SAVED_MODEL = 1e-5
TOL_TFLITE = {"float32": 1e-4, "float16": 1e-2}
TOL_STREAM = 1e-5
TOL_STREAM_TFLITE = 1e-4
ACCURACY_BUDGET = 0.01  # 1 point


@dataclass
class GateResult:
    gate: str
    passed: bool
    value: float
    threshold: float
    detail: dict = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.gate}: {'PASS' if self.passed else 'FAIL'} ({self.value:.3g} vs {self.threshold:.3g})"


def probe_waveforms(task, n: int = 8, seed: int = 0) -> np.ndarray:
    """Deterministic test clips for numeric parity: tones, chirps, noise bursts, silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(task.clip_samples) / task.sample_rate
    out = [np.zeros_like(t)]
    for i in range(1, n):
        f0 = rng.uniform(100, 3000)
        x = 0.3 * np.sin(2 * np.pi * (f0 + 500 * i * t) * t) + 0.05 * rng.standard_normal(t.size)
        x *= np.exp(-((t - rng.uniform(0.2, 0.8)) ** 2) / 0.02)
        out.append(x)
    return np.asarray(out, np.float32)


def _max_diff(gate, a, b, tol, **detail) -> GateResult:
    diff = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    return GateResult(gate, bool(np.isfinite(diff) and diff <= tol), diff, tol, detail)


def keras_vs_saved_model(task, path, waveforms) -> GateResult:
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["recognize"]
    lengths = np.full(len(waveforms), waveforms.shape[1], np.int32)
    served = fn(waveform=tf.constant(waveforms), waveform_length=tf.constant(lengths))["scores"].numpy()
    return _max_diff("keras_vs_saved_model", np.asarray(task(waveforms, training=False)), served,
                     TOL_SAVED_MODEL, examples=len(waveforms))


PROBE_TEXTS = ("turn on the kitchen light", "set a timer for twenty five minutes", "call mom", "xyz 42")


def keras_vs_saved_model_synthesis(task, path, texts=PROBE_TEXTS) -> GateResult:
    """TextToSpeech: the SavedModel's synthesize endpoint vs the in-process task's predict_text (its
    traced synthesize graph), one text per call; the gate is the largest sample difference (inf when
    the lengths differ). Eager, op-by-op execution is not the reference: its float rounding differs
    from a graph's, and Griffin-Lim's phase iterations amplify 1e-6 mel differences to ~1e-2."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["synthesize"]
    worst, lengths_equal = 0.0, True
    for text in texts:
        served = fn(text=tf.constant([text]))
        local = task.predict_text(text)["waveform"]
        n = int(served["waveform_length"][0])
        lengths_equal &= n == local.size
        if lengths_equal:
            diff = np.abs(served["waveform"].numpy()[0, :n].astype(np.float64) - local)
            worst = max(worst, float(diff.max()))
    value = worst if lengths_equal else float("inf")
    return GateResult("keras_vs_saved_model", bool(value <= TOL_SAVED_MODEL), value, TOL_SAVED_MODEL,
                      {"texts": list(texts)})


def saved_model_stream_vs_whole(task, path, waveforms) -> GateResult:
    """The SavedModel's stream endpoint fed hop by hop vs the Keras model on the whole clip."""
    import tensorflow as tf

    from export.streaming import make_streamer

    streamer = make_streamer(task)
    fn = tf.saved_model.load(str(path)).signatures["stream"]
    state = streamer.initial_state(len(waveforms))
    hop = streamer.hop_samples
    for k in range(waveforms.shape[1] // hop):
        out = fn(audio=tf.constant(waveforms[:, k * hop:(k + 1) * hop]), **{n: tf.constant(v) for n, v in state.items()})
        state = {n: out[n].numpy() for n in state}
    return _max_diff("saved_model_stream_vs_whole", np.asarray(task(waveforms, training=False)),
                     out["scores"].numpy(), TOL_STREAM, streamer=streamer.kind, hops=waveforms.shape[1] // hop)


def keras_vs_tflite(task, content: bytes, waveforms, precision="float32") -> GateResult:
    from export.tflite import Runner

    tol = TOL_TFLITE.get(precision)
    if tol is None:
        raise ExportError("numeric TFLite parity applies to float models; quantized models use the accuracy gate",
                          received=precision, expected="float32 | float16")
    return _max_diff(f"keras_vs_tflite_{precision}", np.asarray(task(waveforms, training=False)),
                     Runner(content).scores(waveforms), tol, examples=len(waveforms))


def stream_vs_whole(task, waveforms) -> GateResult:
    """The Python streamer (the graph behind every stream artifact) vs the whole-clip Keras model."""
    from export.streaming import make_streamer

    streamer = make_streamer(task)
    scores = streamer.run(waveforms)[-1]
    return _max_diff("stream_vs_whole", np.asarray(task(waveforms, training=False)), scores, TOL_STREAM,
                     streamer=streamer.kind)


def tflite_stream_vs_whole(task, content: bytes, waveforms, precision="float32") -> GateResult:
    from export.streaming import make_streamer
    from export.tflite import Runner

    streamer = make_streamer(task)
    runner = Runner(content)
    scores = np.stack([runner.stream(w, streamer.initial_state(1))[-1] for w in waveforms])
    ref = np.asarray(task(waveforms, training=False))
    if precision in TOL_TFLITE:
        return _max_diff(f"tflite_stream_{precision}_vs_whole", ref, scores,
                         max(TOL_STREAM_TFLITE, TOL_TFLITE[precision]), streamer=streamer.kind)
    agree = float(np.mean(scores.argmax(1) == ref.argmax(1)))
    return GateResult(f"tflite_stream_{precision}_label_agreement", agree >= 1.0 - 2 * ACCURACY_BUDGET - 1e-9,
                      agree, 1.0 - 2 * ACCURACY_BUDGET, {"streamer": streamer.kind, "examples": len(waveforms)})


def split_clips(task, manifest_path, split="test", limit=None):
    """(waveforms [N, clip], class ids [N]) of a split, decoded as in training/evaluation."""
    from training.pipeline import make_dataset

    ds = make_dataset(manifest_path, split, task.labels, frontend=None, batch_size=256,
                      clip_samples=task.clip_samples, sample_rate=task.sample_rate, shuffle=False, seed=0)
    waves, labels = [], []
    for w, y in ds:
        waves.append(w.numpy())
        labels.append(y.numpy())
    waves, labels = np.concatenate(waves), np.concatenate(labels)
    return (waves[:limit], labels[:limit]) if limit else (waves, labels)


def quantized_accuracy(task, content: bytes, waveforms, labels, precision: str,
                       budget: float = ACCURACY_BUDGET, streaming: bool = False) -> GateResult:
    """Accuracy of the quantized model vs the Keras model on the same clips."""
    from export.tflite import Runner

    keras_acc = float(np.mean(np.asarray(task.predict(waveforms, batch_size=256, verbose=0)).argmax(1) == labels))
    runner = Runner(content)
    if streaming:
        from export.streaming import make_streamer

        streamer = make_streamer(task)
        scores = np.stack([runner.stream(w, streamer.initial_state(1))[-1] for w in waveforms])
    else:
        scores = runner.scores(waveforms)
    acc = float(np.mean(scores.argmax(1) == labels))
    drop = keras_acc - acc
    return GateResult(f"{precision}_accuracy_drop", drop <= budget + 1e-12, drop, budget,
                      {"keras_accuracy": keras_acc, f"{precision}_accuracy": acc, "examples": int(len(labels))})


def enforce(results) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        raise ExportError("the artifact fails its parity gate(s), so it is not written",
                          received="; ".join(r.line() for r in failed),
                          expected="; ".join(f"{r.gate} <= {r.threshold:g}" for r in failed),
                          fix="check the export for numerics changes (retrain / re-export); for quantized "
                              "models calibrate with more representative data or keep float32")


def write_report(results, out_dir, *, artifact: str, extra=None) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"artifact": artifact, "passed": all(r.passed for r in results),
            "gates": [asdict(r) for r in results], **(extra or {})}
    json_path, md_path = out_dir / "parity.json", out_dir / "parity.md"
    json_path.write_text(json.dumps(data, indent=1))
    lines = [f"# Parity report: {artifact}", "", "| gate | result | value | threshold | detail |",
             "|---|---|---|---|---|"]
    for r in results:
        detail = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.detail.items())
        lines.append(f"| {r.gate} | {'PASS' if r.passed else 'FAIL'} | {r.value:.3g} | {r.threshold:.3g} | {detail} |")
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path
