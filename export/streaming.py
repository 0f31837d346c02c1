"""Streaming variants of the frame-based keyword spotters: one hop (20 ms = 320 samples) per call,
every piece of state an explicit input and output tensor (DESIGN.md 3: `stream` endpoints).

Two formulations, chosen by `make_streamer(task)`:

* `CRNNStreamer` (CRNN backbones): truly incremental. State = the previous hop of samples, the last
  `kernel_time` feature frames (the conv's time context), one state per recurrent layer, and the hop
  position. Each hop adds one log-mel frame; the conv emits an output every `stride` frames and the
  GRU/LSTM layers advance one step. Semantics: the scores after a hop equal the whole-utterance
  model on every frame received since the state was reset (the conv's zero 'same' padding on the
  right is applied speculatively, without touching the state). At the last hop of a 1 s clip
  (hop 50 = 16000 samples, 49 frames) they equal the Keras model's scores on the clip.
* `SlidingWindowStreamer` (every other AudioClassifier with a frame-local frontend: DNN, CNN,
  DS-CNN, TC-ResNet, Att-RNN): the frontend streams one frame per hop into a ring buffer of the
  clip's frames; the body re-runs on the ring each hop. Semantics: the scores after every hop equal
  the Keras model on the last `clip_samples` samples of the stream, with silence (zeros) before the
  stream start. Exact at every hop, no warm-up; costs one body pass per hop.

Both are pure functions of (audio, state) built from the task's own layers and weights, so the
SavedModel `stream` endpoint and the streaming TFLite model share one implementation.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from zoo.errors import ExportError

FRAME_LOCAL_FRONTENDS = ("LogMelSpectrogram", "MFCC", "STFT")
POSITION_WRAP = 1 << 20  # the hop counter wraps (keeping its phase) so endless streams never overflow


def _frontend_framing(task):
    frontend = task.frontend
    name = type(frontend).__name__
    if name not in FRAME_LOCAL_FRONTENDS:
        raise ExportError(
            f"the {name} frontend of {task.name} is not frame-local, so it cannot stream hop by hop",
            received=name, expected=" | ".join(FRAME_LOCAL_FRONTENDS),
            fix="export without streaming, or use a preset whose frontend is a log-mel / MFCC / STFT layer")
    return int(frontend.frame_length), int(frontend.frame_step)


class _Streamer:
    """Shared plumbing: hop size, sample buffer, one frontend frame per hop."""

    kind = ""
    # States that belong to the float frontend (audio samples, feature frames): their ops run in the
    # frontend's name scope and int8 conversion keeps them float (export/_tflite_worker.py). An int8
    # ring was requantized every hop with differing input and output scales, and a quantized
    # sample buffer fed int8 audio to the FFT: -4 points for the DNN spotter.
    float_states: tuple[str, ...] = ("state_samples",)

    def __init__(self, task):
        self.task = task
        self.frame_length, self.hop_samples = _frontend_framing(task)
        # The buffer keeps whole hops; the newest complete frame is its first frame_length samples.
        self.buffer_samples = self.hop_samples * math.ceil(self.frame_length / self.hop_samples)
        self.warmup_hops = self.buffer_samples // self.hop_samples - 1
        self.num_classes = len(task.labels)

    # -- state
    def state_spec(self) -> dict:
        """name -> (shape without the batch axis, dtype name)."""
        raise NotImplementedError

    def initial_state(self, batch_size: int = 1) -> dict:
        return {name: np.zeros((batch_size, *shape), dtype=dtype)
                for name, (shape, dtype) in self.state_spec().items()}

    def input_signature(self, batch_size=None) -> dict:
        spec = {"audio": tf.TensorSpec([batch_size, self.hop_samples], tf.float32, name="audio")}
        for name, (shape, dtype) in self.state_spec().items():
            spec[name] = tf.TensorSpec([batch_size, *shape], tf.as_dtype(dtype), name=name)
        return spec

    def schema(self) -> dict:
        """The stream endpoint for metadata.json."""
        states = [{"name": n, "dtype": d, "shape": [None, *s]} for n, (s, d) in self.state_spec().items()]
        return {
            "endpoint": "stream",
            "kind": self.kind,
            "hop_samples": self.hop_samples,
            "inputs": [{"name": "audio", "dtype": "float32", "shape": [None, self.hop_samples]}] + states,
            "outputs": [{"name": "scores", "dtype": "float32", "shape": [None, self.num_classes]},
                        {"name": "label_ids", "dtype": "int32", "shape": [None]}] + states,
            "initial_state": "zeros" if self.kind == "incremental" else "see initial_state(): features = "
                             "frontend(silence)",
        }

    def _new_frame(self, samples, audio):
        """(next sample buffer, newest frame features [B, 1, F])."""
        with tf.name_scope(self.task.frontend.name):  # float under int8, see float_states
            buf = tf.concat([samples, audio], axis=1)
            frame = self.task.frontend(buf[:, :self.frame_length])
            return buf[:, self.hop_samples:], frame

    def _head(self, embedding):
        t = self.task
        return t.softmax(t.head(embedding))

    def step(self, audio, **state) -> dict:
        raise NotImplementedError

    def __call__(self, audio, **state) -> dict:
        out = self.step(tf.convert_to_tensor(audio, tf.float32), **state)
        out["label_ids"] = tf.argmax(out["scores"], axis=-1, output_type=tf.int32)
        return out

    def run(self, waveform) -> np.ndarray:
        """Feed [B, T] hop by hop from the initial state (T is cut to whole hops): scores [hops, B, C]."""
        waveform = np.asarray(waveform, np.float32)
        state = self.initial_state(waveform.shape[0])
        step = tf.function(self.__call__)
        outs = []
        for k in range(waveform.shape[1] // self.hop_samples):
            res = step(waveform[:, k * self.hop_samples:(k + 1) * self.hop_samples], **state)
            state = {name: res[name] for name in state}
            outs.append(res["scores"].numpy())
        return np.stack(outs)


class SlidingWindowStreamer(_Streamer):
    """Ring buffer of the clip's feature frames; the body re-runs each hop (exact at every hop)."""

    kind = "sliding_window"
    float_states = ("state_samples", "state_features")

    def __init__(self, task):
        super().__init__(task)
        clip = int(task.clip_samples)
        self.num_frames = 1 + (clip - self.frame_length) // self.hop_samples
        # The newest ring frame must be the clip's last frame: the clip ends where the buffer ends.
        if clip - (self.num_frames - 1) * self.hop_samples != self.buffer_samples:
            raise ExportError(
                f"{task.name}: clip_samples does not align with the frontend hop, so a sliding window "
                "cannot reproduce the clip's frames",
                received=f"clip_samples={clip}, frame_length={self.frame_length}, hop={self.hop_samples}",
                expected="clip_samples - (frames - 1) * hop == hop * ceil(frame_length / hop)")
        silence = np.zeros((1, self.frame_length), np.float32)
        self.silence_frame = np.asarray(task.frontend(silence))[0, 0]
        self.num_features = int(self.silence_frame.shape[-1])

    def state_spec(self):
        return {"state_samples": ((self.buffer_samples - self.hop_samples,), "float32"),
                "state_features": ((self.num_frames, self.num_features), "float32")}

    def initial_state(self, batch_size=1):
        state = super().initial_state(batch_size)
        state["state_features"][:] = self.silence_frame  # features of the silence before the stream
        return state

    def step(self, audio, state_samples, state_features):
        samples, frame = self._new_frame(state_samples, audio)
        with tf.name_scope(self.task.frontend.name):  # float under int8, see float_states
            features = tf.concat([state_features[:, 1:], frame], axis=1)
        scores = self._head(self.task.backbone(features, training=False))
        return {"scores": scores, "state_samples": samples, "state_features": features}


class CRNNStreamer(_Streamer):
    """Incremental CRNN: conv context buffer + one recurrent state per layer (see module docstring)."""

    kind = "incremental"
    float_states = ("state_samples", "state_context")

    def __init__(self, task):
        super().__init__(task)
        bb = task.backbone
        if bb.pooling != "last":
            raise ExportError("incremental streaming supports CRNN pooling='last' only",
                              received=bb.pooling, expected="last",
                              fix="export with the sliding-window streamer (make_streamer(task, 'sliding_window'))")
        self.kt, self.kf = bb.conv_kernel_size
        self.st, self.sf = bb.conv_strides
        self.num_features = bb.num_features
        t_out = -(-bb.num_frames // self.st)
        self.pad_t = max((t_out - 1) * self.st + self.kt - bb.num_frames, 0) // 2  # Keras 'same', left side
        f_out = -(-bb.num_features // self.sf)
        pad_f = max((f_out - 1) * self.sf + self.kf - bb.num_features, 0)
        self.pad_f = (pad_f // 2, pad_f - pad_f // 2)
        self.lookahead = self.kt - self.pad_t - 1  # frames of right context the conv waits for
        self.conv = bb.get_layer("conv")
        self.bn = bb.get_layer("conv_bn")
        self.rnns = [bb.get_layer(f"{bb.rnn_type}{i}") for i in range(1, bb.num_rnn_layers + 1)]
        self.dense = bb.get_layer("embedding_dense") if bb.dense_units else None
        self.rnn_units = bb.rnn_units
        self.num_cell_states = 2 if bb.rnn_type == "lstm" else 1

    def state_spec(self):
        spec = {"state_samples": ((self.buffer_samples - self.hop_samples,), "float32"),
                "state_context": ((self.kt, self.num_features), "float32")}
        for i in range(len(self.rnns)):
            for j in range(self.num_cell_states):
                spec[f"state_rnn{i + 1}_{j}"] = ((self.rnn_units,), "float32")
        spec["state_position"] = ((), "int32")
        return spec

    def _conv_frames(self, context):
        """[B, K, F] feature frames -> conv outputs at every time offset [B, K - kt + 1, D]."""
        x = tf.pad(context[:, :, :, None], [[0, 0], [0, 0], list(self.pad_f), [0, 0]])
        y = tf.nn.conv2d(x, self.conv.kernel, strides=[1, 1, self.sf, 1], padding="VALID")
        y = tf.nn.relu(self.bn(y, training=False))
        shape = y.shape
        return tf.reshape(y, [-1, shape[1], shape[2] * shape[3]])

    def _rnn_step(self, x, states, valid):
        """All layers one step; rows where `valid` is False keep their state."""
        new_states = []
        for layer, st in zip(self.rnns, states):
            out, nxt = layer.cell(x, list(st), training=False)
            nxt = nxt if isinstance(nxt, (list, tuple)) else [nxt]
            new_states.append([tf.where(valid[:, None], n, s) for n, s in zip(nxt, st)])
            x = out
        return new_states

    def step(self, audio, state_samples, state_context, state_position, **rnn_state):
        states = [[rnn_state[f"state_rnn{i + 1}_{j}"] for j in range(self.num_cell_states)]
                  for i in range(len(self.rnns))]
        samples, frame = self._new_frame(state_samples, audio)
        has_frame = state_position >= self.warmup_hops
        frames = state_position - self.warmup_hops + 1  # L: frames received so far (after this hop)
        with tf.name_scope(self.task.frontend.name):  # float under int8, see float_states
            context = tf.where(has_frame[:, None, None], tf.concat([state_context[:, 1:], frame], axis=1),
                               state_context)
        # Offset 0 is the window ending at the newest frame; offsets > 0 look into zero right padding.
        ext = tf.concat([context, tf.zeros_like(context[:, :self.lookahead])], axis=1)
        conv = self._conv_frames(ext)
        first = frames + self.pad_t - self.kt  # padded index where the offset-0 window starts
        n_out = (frames + self.st - 1) // self.st  # Keras 'same' output length for L frames
        committed = has_frame & (first >= 0) & (tf.math.floormod(first, self.st) == 0)
        states = self._rnn_step(conv[:, 0], states, committed)
        spec = states
        for o in range(1, self.lookahead + 1):
            start = first + o
            valid = has_frame & (start >= 0) & (tf.math.floormod(start, self.st) == 0) & \
                (start // self.st < n_out)
            spec = self._rnn_step(conv[:, o], spec, valid)
        embedding = spec[-1][0]
        if self.dense is not None:
            embedding = tf.nn.relu(self.dense(embedding))
        position = state_position + 1
        position = tf.where(position >= POSITION_WRAP, position - self.st * (POSITION_WRAP // (2 * self.st)),
                            position)
        out = {"scores": self._head(embedding), "state_samples": samples, "state_context": context,
               "state_position": position}
        for i, st in enumerate(states):
            for j, s in enumerate(st):
                out[f"state_rnn{i + 1}_{j}"] = s
        return out


def make_streamer(task, kind: str | None = None) -> _Streamer:
    """The streamer for `task`: "incremental" for CRNN backbones, "sliding_window" otherwise."""
    from zoo.tasks.recognition import AudioClassifier

    if getattr(task, "decoder_type", None) == "ctc":  # SpeechRecognizer: export/ctc_streamer.py
        from export.ctc_streamer import CTCStreamer

        return CTCStreamer(task)
    if not isinstance(task, AudioClassifier):
        raise ExportError("streaming export supports audio classifiers (keyword spotters) so far",
                          received=type(task).__name__, expected="AudioClassifier")
    if kind is None:
        kind = "incremental" if type(task.backbone).__name__ == "CRNNBackbone" else "sliding_window"
    if kind == "incremental":
        if type(task.backbone).__name__ != "CRNNBackbone":
            raise ExportError("incremental streaming needs a CRNN backbone",
                              received=type(task.backbone).__name__, expected="CRNNBackbone",
                              fix="use kind='sliding_window'")
        return CRNNStreamer(task)
    if kind == "sliding_window":
        return SlidingWindowStreamer(task)
    raise ExportError("unknown streaming kind", received=kind, expected="incremental | sliding_window")
