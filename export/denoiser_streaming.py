"""Streaming DTLN denoiser: one hop per call, every piece of state an explicit tensor (DESIGN.md 3).

State: the last frame_length - frame_step input samples (the frame buffer), (h, c) of every LSTM,
and the frame_length - frame_step overlap-add tail. Each call frames [buffer, audio], runs both
stages on that one frame with LSTM cells sharing the task's weights, overlap-adds the decoded frame
and emits the first hop of the sum, which no later frame touches. Semantics: starting from zero
state, the concatenated outputs equal the whole-utterance SourceSeparator output delayed by
frame_length - frame_step samples (algorithmic latency = frame_length: a hop is buffered, and the
frame it completes reaches back frame_length - hop samples).

`DTLNStreamer.model(batch_size=1)` is a Keras functional model (fixed shapes for TFLite);
`convert_stream_tflite` converts it in a subprocess (the converter can crash the process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ExportError


@keras.saving.register_keras_serializable(package="zoo")
class StreamFrame(keras.layers.Layer):
    """(buffer f32[B, L - hop], audio f32[B, hop]) -> (frame f32[B, L], next buffer f32[B, L - hop])."""

    def call(self, buffer, audio):
        frame = tf.concat([buffer, audio], axis=-1)
        return frame, frame[:, tf.shape(audio)[1]:]


@keras.saving.register_keras_serializable(package="zoo")
class StreamOverlapAdd(keras.layers.Layer):
    """(tail f32[B, L - hop], frame f32[B, L]) -> (out f32[B, hop], next tail f32[B, L - hop])."""

    def call(self, tail, frame):
        hop = tf.shape(frame)[1] - tf.shape(tail)[1]
        total = frame + tf.pad(tail, [[0, 0], [0, hop]])
        return total[:, :hop], total[:, hop:]


class StreamLSTMStep(keras.layers.Layer):
    """One step of a (built) keras.layers.LSTM: (x [B, D], h [B, U], c [B, U]) -> (y, h, c), sharing its
    weights; a wrapper because the layers' cells all carry the same name, which a functional model
    rejects."""

    def __init__(self, lstm, **kwargs):
        super().__init__(**kwargs)
        self.lstm = lstm

    def call(self, x, h, c):
        y, (h, c) = self.lstm.cell(x, [h, c])
        return y, h, c


class DTLNStreamer:
    """The streaming step of a SourceSeparator with a DTLNBackbone."""

    def __init__(self, task):
        backbone = getattr(task, "backbone", None)
        if type(backbone).__name__ != "DTLNBackbone":
            raise ExportError("streaming denoiser export needs a DTLN backbone", received=type(backbone).__name__,
                              expected="DTLNBackbone", fix="use a DTLN preset such as enh_dtln_16k")
        self.task, self.backbone = task, backbone
        self.frame_length, self.hop_samples = backbone.frame_length, backbone.frame_step
        self.delay_samples = self.frame_length - self.hop_samples
        self.units, self.num_layers = backbone.lstm_units, backbone.num_layers

    @property
    def algorithmic_latency_ms(self) -> float:
        return 1000.0 * self.frame_length / self.task.sample_rate

    def state_spec(self) -> dict:
        spec = {"state_frame": self.delay_samples, "state_ola": self.delay_samples}
        for stage in (1, 2):
            for i in range(self.num_layers):
                spec[f"state_stage{stage}_lstm{i}_h"] = self.units
                spec[f"state_stage{stage}_lstm{i}_c"] = self.units
        return spec

    def initial_state(self, batch_size: int = 1) -> dict:
        return {k: np.zeros((batch_size, n), np.float32) for k, n in self.state_spec().items()}

    def model(self, batch_size=None) -> keras.Model:
        """{"audio": [B, hop], **state} -> {"audio_out": [B, hop], **next state} (state names prefixed next_)."""
        layers = self.backbone.stream_layers
        inputs = {"audio": keras.Input(shape=(self.hop_samples,), batch_size=batch_size, name="audio")}
        for name, size in self.state_spec().items():
            inputs[name] = keras.Input(shape=(size,), batch_size=batch_size, name=name)
        frame, next_frame = StreamFrame(name="stream_frame")(inputs["state_frame"], inputs["audio"])
        spectrum = layers["dft"](frame)
        x = layers["norm1"](layers["log_magnitude"](spectrum))
        outputs = {}

        def lstm_stack(x, stage, lstms):
            for i, lstm in enumerate(lstms):
                h, c = inputs[f"state_stage{stage}_lstm{i}_h"], inputs[f"state_stage{stage}_lstm{i}_c"]
                x, h, c = StreamLSTMStep(lstm, name=f"stream_{lstm.name}")(x, h, c)
                outputs[f"next_state_stage{stage}_lstm{i}_h"], outputs[f"next_state_stage{stage}_lstm{i}_c"] = h, c
            return x

        x = lstm_stack(x, 1, layers["lstm1"])
        y1 = layers["idft"](spectrum, layers["mask1"](x))
        encoded = layers["encoder"](y1)
        x = lstm_stack(layers["norm2"](encoded), 2, layers["lstm2"])
        decoded = layers["decoder"](layers["masked"]([encoded, layers["mask2"](x)]))
        out, next_ola = StreamOverlapAdd(name="stream_ola")(inputs["state_ola"], decoded)
        outputs = {"audio_out": out, "next_state_frame": next_frame, "next_state_ola": next_ola, **outputs}
        return keras.Model(inputs, outputs, name=f"{self.task.name}_stream")

    def run(self, waveform, model=None) -> np.ndarray:
        """Stream a mono waveform hop by hop from zero state (zero-padded to whole hops); the output
        has the input's length plus the delay, and out[delay:delay + T] matches the Task's output."""
        model = model or self.model(batch_size=1)
        x = np.asarray(waveform, np.float32)
        hop = self.hop_samples
        n = -(-(x.size + self.delay_samples) // hop) * hop
        x = np.pad(x, (0, n - x.size))
        state = self.initial_state(1)
        out = []
        for k in range(0, n, hop):
            res = model({"audio": x[None, k:k + hop], **state}, training=False)
            out.append(np.asarray(res["audio_out"])[0])
            state = {name: np.asarray(res[f"next_{name}"]) for name in state}
        return np.concatenate(out)


def convert_stream_tflite(task, out_path, precision: str = "float32") -> Path:
    """Convert the batch-1 streaming model to TFLite (builtins only) in a subprocess; precision
    "float32" or "dynamic" (dynamic-range int8 weights). Returns out_path."""
    if precision not in ("float32", "dynamic"):
        raise ExportError("unknown streaming TFLite precision", received=precision, expected="float32 or dynamic")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "task.keras"
        task.save(str(model_path))
        job = {"model": str(model_path), "out": str(out_path), "precision": precision}
        proc = subprocess.run([sys.executable, "-m", "export.denoiser_streaming", json.dumps(job)],
                              capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not out_path.exists():
        raise ExportError("streaming TFLite conversion failed", received=proc.stderr[-2000:],
                          expected="a .tflite file", fix="check the converter log above")
    return out_path


def _convert_job(job: dict) -> None:
    from zoo.registry import import_family

    import_family("dtln")
    import zoo.tasks.separation  # noqa: F401  (registers SourceSeparator for load_model)
    task = keras.saving.load_model(job["model"])
    streamer = DTLNStreamer(task)
    model = streamer.model(batch_size=1)
    names = ["audio", *streamer.state_spec()]
    sizes = {"audio": streamer.hop_samples, **streamer.state_spec()}
    archive = keras.export.ExportArchive()  # Keras 3 models convert through a SavedModel endpoint
    # not archive.track(): endpoints save the variables they read, once (export/saved_model.py)

    def serve(*args):
        return model(dict(zip(names, args)), training=False)

    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([1, sizes[n]], tf.float32, name=n)
                                                          for n in names])
    saved = Path(job["out"]).with_suffix(".saved_model")
    archive.write_out(str(saved), verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serve"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if job["precision"] == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    Path(job["out"]).write_bytes(converter.convert())
    import shutil

    shutil.rmtree(saved, ignore_errors=True)


class TFLiteStreamRunner:
    """Runs a streaming .tflite hop by hop with ai-edge-litert (one thread by default).

    Each hop sets the audio and state tensors, invokes and reads the outputs by tensor index, as a
    device loop copies its buffers. The signature runner's per-call Python bookkeeping (dicts of 11
    tensors) cost about as much as the 2 ms-hop model: 119 us per hop against 75 us this way and 56 us
    for the invoke alone (enh_dtln_hearing_16k float32, one core shared with a training job).
    """

    def __init__(self, content: bytes, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        runner = self.interpreter.get_signature_runner()
        self.inputs = {name: d["index"] for name, d in runner.get_input_details().items()}
        self.outputs = {name: d["index"] for name, d in runner.get_output_details().items()}

    def run(self, waveform, streamer: DTLNStreamer, *, timings: list | None = None,
            invoke_timings: list | None = None) -> np.ndarray:
        """The stream's output for `waveform` from zero state, padded to whole hops plus the delay.
        `timings` gets each hop's seconds (tensor copies + invoke), `invoke_timings` the invoke alone."""
        import time

        hop = streamer.hop_samples
        x = np.asarray(waveform, np.float32)
        n = -(-(x.size + streamer.delay_samples) // hop) * hop
        x = np.pad(x, (0, n - x.size))
        interpreter, audio_in, audio_out = self.interpreter, self.inputs["audio"], self.outputs["audio_out"]
        state = [(self.inputs[name], self.outputs[f"next_{name}"], value)
                 for name, value in streamer.initial_state(1).items()]
        out = []
        for k in range(0, n, hop):
            start = time.perf_counter()
            interpreter.set_tensor(audio_in, x[None, k:k + hop])
            for index, _, value in state:
                interpreter.set_tensor(index, value)
            invoked = time.perf_counter()
            interpreter.invoke()
            done = time.perf_counter()
            out.append(interpreter.get_tensor(audio_out)[0])
            state = [(index, next_index, interpreter.get_tensor(next_index)) for index, next_index, _ in state]
            if timings is not None:
                timings.append(time.perf_counter() - start)
            if invoke_timings is not None:
                invoke_timings.append(done - invoked)
        return np.concatenate(out)


if __name__ == "__main__":
    _convert_job(json.loads(sys.argv[1]))
