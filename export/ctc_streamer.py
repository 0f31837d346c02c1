"""Streaming CTC recognition: a causal DeepSpeech2 SpeechRecognizer run one hop (10 ms) per call,
every piece of state an explicit input and output tensor (DESIGN.md 3: `stream` endpoints).

Per hop the frontend computes one log-mel frame from the last three hops of samples (frames are
400 samples at a 160-sample hop, so the newest complete frame starts 480 samples back; the first
two hops only fill the buffer). Each causal conv keeps its last kernel_time - 1 inputs (zeros at the
start: the model's causal zero padding) and emits an output on every stride-th input; the GRUs then
advance one step and the CTC head emits one frame of logits (`valid` = 1), otherwise `valid` = 0.
Semantics: the logits emitted after a stream's hops equal the whole-utterance model's logits on
the same samples, frame for frame; CTC greedy decoding of the emitted frames gives its text.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import ExportError

POSITION_WRAP = 1 << 20


class CTCStreamer:
    kind = "ctc_incremental"
    float_states = ("state_samples",)  # kept float under int8 (export.streaming._Streamer.float_states)

    def __init__(self, task):
        backbone = task.backbone
        if getattr(task, "decoder_type", None) != "ctc" or not getattr(backbone, "causal", False):
            raise ExportError("CTC streaming needs a CTC SpeechRecognizer with a causal DeepSpeech2 backbone",
                              received=f"{type(task).__name__} / {type(backbone).__name__}",
                              expected="asr_deepspeech2_causal_synth (DeepSpeech2Backbone causal=True)",
                              fix="export a causal preset, or export without streaming")
        self.task, self.backbone = task, backbone
        self.frame_length, self.hop_samples = int(task.frontend.frame_length), int(task.frontend.frame_step)
        self.buffer_hops = -(-self.frame_length // self.hop_samples)
        self.warmup_hops = self.buffer_hops - 1
        self.num_features = backbone.num_features
        self.vocabulary_size = task.tokenizer.vocabulary_size
        self.convs = []  # (kernel_time, stride_time, input bands, input channels)
        bands, channels = self.num_features, 1
        for i, (filters, kernel, stride) in enumerate(zip(backbone.conv_filters, backbone.conv_kernel_sizes,
                                                          backbone.conv_strides), start=1):
            self.convs.append((kernel[0], stride[0], bands, channels))
            bands, channels = -(-bands // stride[1]), filters
        self.rnn_units = backbone.rnn_units
        self.num_rnn_layers = backbone.num_rnn_layers

    # -- state
    def state_spec(self) -> dict:
        spec = {"state_samples": ((self.warmup_hops * self.hop_samples,), "float32"),
                "state_position": ((), "int32")}
        for i, (k, _, bands, channels) in enumerate(self.convs, start=1):
            spec[f"state_conv{i}"] = ((k - 1, bands, channels), "float32")
            spec[f"state_count{i}"] = ((), "int32")
        for i in range(1, self.num_rnn_layers + 1):
            spec[f"state_gru{i}"] = ((self.rnn_units,), "float32")
        return spec

    def initial_state(self, batch_size: int = 1) -> dict:
        return {name: np.zeros((batch_size, *shape), dtype=dtype) for name, (shape, dtype) in self.state_spec().items()}

    def input_signature(self, batch_size=None) -> dict:
        spec = {"audio": tf.TensorSpec([batch_size, self.hop_samples], tf.float32, name="audio")}
        for name, (shape, dtype) in self.state_spec().items():
            spec[name] = tf.TensorSpec([batch_size, *shape], tf.as_dtype(dtype), name=name)
        return spec

    def schema(self) -> dict:
        states = [{"name": n, "dtype": d, "shape": [None, *s]} for n, (s, d) in self.state_spec().items()]
        return {"endpoint": "stream", "kind": self.kind, "hop_samples": self.hop_samples,
                "inputs": [{"name": "audio", "dtype": "float32", "shape": [None, self.hop_samples]}] + states,
                "outputs": [{"name": "logits", "dtype": "float32", "shape": [None, self.vocabulary_size]},
                            {"name": "valid", "dtype": "int32", "shape": [None],
                             "description": "1 where this hop emitted a frame of logits"}]
                + [dict(s, name=s["name"]) for s in states]}

    # -- one hop
    def _layer(self, name):
        return self.backbone.get_layer(name)

    def step(self, audio, state_samples, state_position, **state):
        b = self.backbone
        batch = tf.shape(audio)[0]
        buffer = tf.concat([state_samples, audio], axis=1)
        out = {"state_samples": buffer[:, self.hop_samples:],
               "state_position": tf.math.floormod(state_position + 1, POSITION_WRAP)}
        ready = state_position >= self.warmup_hops  # [B]: a complete frame is in the buffer
        frame = self.task.frontend(buffer[:, :self.frame_length])  # [B, 1, bins]
        x = b.get_layer("input_norm")(frame, training=False)
        x = tf.reshape(x, tf.stack([batch, 1, self.num_features, 1]))
        active = ready
        for i, (k, stride, _, _) in enumerate(self.convs, start=1):
            context, count = state[f"state_conv{i}"], state[f"state_count{i}"]
            window = tf.concat([context, x], axis=1)  # [B, k, bands, channels]
            emit = tf.logical_and(active, tf.equal(tf.math.floormod(count, stride), 0))
            y = self._layer(f"conv{i}_time")(window)  # valid conv over the k rows: one row
            y = self._layer(f"conv{i}_freq")(y)
            y = self._layer(f"conv{i}_relu")(self._layer(f"conv{i}_bn")(y, training=False))
            mask = active[:, None, None, None]
            out[f"state_conv{i}"] = tf.where(mask, window[:, 1:], context)
            out[f"state_count{i}"] = tf.where(active, tf.math.floormod(count + 1, POSITION_WRAP), count)
            x, active = y, emit
        x = tf.reshape(x, tf.stack([batch, -1]))
        for i in range(1, self.num_rnn_layers + 1):
            h = state[f"state_gru{i}"]
            x, (new_h,) = self._layer(f"gru{i}").cell(x, [h], training=False)
            out[f"state_gru{i}"] = tf.where(active[:, None], new_h, h)
        out["logits"] = self.task.head(x)
        out["valid"] = tf.cast(active, tf.int32)
        return out

    def __call__(self, audio, **state) -> dict:
        return self.step(tf.convert_to_tensor(audio, tf.float32), **{k: tf.convert_to_tensor(v)
                                                                       for k, v in state.items()})

    def run(self, waveform) -> np.ndarray:
        """Stream one waveform [T] hop by hop (T cut to whole hops): emitted logits [frames, V]."""
        step = tf.function(self.step)
        state = self.initial_state(1)
        waveform = np.asarray(waveform, np.float32)
        frames = []
        for k in range(len(waveform) // self.hop_samples):
            out = step(tf.constant(waveform[None, k * self.hop_samples:(k + 1) * self.hop_samples]),
                       **{n: tf.constant(v) for n, v in state.items()})
            state = {n: out[n].numpy() for n in state}
            if int(out["valid"][0]):
                frames.append(out["logits"].numpy()[0])
        return np.stack(frames) if frames else np.zeros((0, self.vocabulary_size), np.float32)
