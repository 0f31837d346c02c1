"""TF Serving SavedModels: `<base>/<model_name>/<version>/` written with keras.export.ExportArchive.

Endpoints come from the Task's signature (zoo/signatures.py): for an audio classifier
  recognize / serving_default: waveform f32[B, T], waveform_length i32[B] -> scores, label_ids, labels
  recognize_wav:               wav string[B] (16-bit PCM WAV bytes)      -> the same outputs
  stream (streaming=True):     audio f32[B, hop] + state tensors         -> scores, label_ids, next state
Each row is reduced to one clip in-graph exactly like AudioClassifier.select_window (short audio
zero-padded centred, long audio: the most energetic clip window), so served and local predictions
agree. Inputs are validated in-graph (length bounds, finite values, WAV sample rate); violations fail
the request with InvalidArgument. Beside the SavedModel: metadata.json (schema, sample rate, preset,
zoo version, sha256 of every file) and assets.extra/tf_serving_warmup_requests.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.errors import ExportError

MAX_SECONDS = 60.0  # longest accepted request; longer audio should be chunked by the client
WARMUP_FILE = "tf_serving_warmup_requests"
METADATA_FILE = "metadata.json"


# ----------------------------------------------------------------------------- graph functions
def _select_windows(task, waveform, waveform_length):
    """[B, T] + lengths -> [B, clip]: AudioClassifier.select_window for every row, in-graph.

    Rows that are exactly one clip long (the usual request) are the clip itself: that branch skips
    the energy search and the gather, about a third of a 1 s KWS request's graph time."""
    n = task.clip_samples
    exact = tf.logical_and(tf.equal(tf.shape(waveform)[1], n), tf.reduce_all(tf.equal(waveform_length, n)))
    return tf.cond(exact, lambda: tf.reshape(waveform, [-1, n]),
                   lambda: _search_windows(task, waveform, waveform_length))


def _search_windows(task, waveform, waveform_length):
    n = task.clip_samples
    hop = max(1, task.sample_rate // 100)
    t = tf.shape(waveform)[1]
    length = tf.cast(waveform_length, tf.int32)
    idx = tf.range(t)[None, :]
    x = tf.where(idx < length[:, None], waveform, 0.0)
    # Most energetic window among starts 0, hop, 2 hop, ... <= length - n (float64 cumsum as numpy).
    energy = tf.concat([tf.zeros_like(x[:, :1], tf.float64), tf.cumsum(tf.cast(x, tf.float64) ** 2, axis=1)], 1)
    starts = tf.range(0, tf.maximum(t - n + 1, 1), hop)
    ends = tf.minimum(starts + n, t)
    window_energy = tf.gather(energy, ends, axis=1) - tf.gather(energy, starts, axis=1)
    allowed = starts[None, :] <= (length - n)[:, None]
    window_energy = tf.where(allowed, window_energy, tf.constant(-1.0, tf.float64))
    best = tf.gather(starts, tf.argmax(window_energy, axis=1, output_type=tf.int32))
    start = tf.where(length <= n, -((n - length) // 2), best)
    pos = start[:, None] + tf.range(n)[None, :]
    inside = (pos >= 0) & (pos < length[:, None])
    return tf.where(inside, tf.gather(x, tf.clip_by_value(pos, 0, t - 1), batch_dims=1), 0.0)


def _validate_waveform(task, waveform, waveform_length, max_samples):
    checks = [
        tf.debugging.assert_rank(waveform, 2, message="waveform must be [batch, time] float32"),
        tf.debugging.assert_equal(tf.shape(waveform_length)[0], tf.shape(waveform)[0],
                                  message="waveform_length must have one entry per waveform row"),
        tf.debugging.assert_positive(tf.shape(waveform)[1], message="waveform has no samples"),
        tf.debugging.assert_less_equal(tf.shape(waveform)[1], max_samples,
                                       message=f"waveform longer than {max_samples} samples: chunk it"),
        tf.debugging.assert_positive(waveform_length, message="waveform_length must be >= 1"),
        tf.debugging.assert_less_equal(waveform_length, tf.shape(waveform)[1],
                                       message="waveform_length exceeds the waveform's time axis"),
    ]
    with tf.control_dependencies(checks):
        return tf.debugging.check_numerics(waveform, "waveform has NaN or Inf samples")


def recognize_fn(task, max_samples):
    if task.signature().kind == "sequence":  # SpeechRecognizer: whole utterance, in-graph greedy + text
        def recognize_sequence(waveform, waveform_length):
            waveform = _validate_waveform(task, waveform, waveform_length, max_samples)
            valid = tf.range(tf.shape(waveform)[1])[None, :] < tf.cast(waveform_length, tf.int32)[:, None]
            return task.recognize(tf.where(valid, waveform, 0.0), waveform_length)

        return recognize_sequence
    labels = tf.constant(task.labels)

    def recognize(waveform, waveform_length):
        waveform = _validate_waveform(task, waveform, waveform_length, max_samples)
        scores = task(_select_windows(task, waveform, waveform_length), training=False)
        label_ids = tf.argmax(scores, axis=-1, output_type=tf.int32)
        return {"scores": scores, "label_ids": label_ids, "labels": tf.gather(labels, label_ids)}

    return recognize


def separate_fn(task, max_samples):
    """SourceSeparator: validated (mixture, mixture_length) -> {"sources": f32[B, S, T]}."""

    def separate(mixture, mixture_length):
        mixture = _validate_waveform(task, mixture, mixture_length, max_samples)
        return {"sources": task.separate(mixture, mixture_length)}

    return separate


def synthesize_fn(task, max_chars):
    """TextToSpeech: validated text string[B] -> {"waveform": f32[B, T], "waveform_length": i32[B]}."""

    def synthesize(text):
        chars = tf.strings.length(tf.strings.strip(text), unit="UTF8_CHAR")
        checks = [
            tf.debugging.assert_rank(text, 1, message="text must be a [batch] string tensor"),
            tf.debugging.assert_positive(tf.size(text), message="text has no rows"),
            tf.debugging.assert_positive(chars, message="text is empty: send the sentence to speak"),
            tf.debugging.assert_less_equal(chars, max_chars,
                                           message=f"text longer than {max_chars} characters: split it"),
        ]
        with tf.control_dependencies(checks):
            return task.synthesize(tf.identity(text))

    return synthesize


def recognize_wav_fn(task, max_samples):
    recognize = separate_fn(task, max_samples) if task.kind == "separation" else recognize_fn(task, max_samples)
    rate = task.sample_rate

    def decode(contents):
        audio, sample_rate = tf.audio.decode_wav(contents)
        check = tf.debugging.assert_equal(
            sample_rate, rate, message=f"WAV sample rate differs from the model's {rate} Hz: resample it")
        with tf.control_dependencies([check]):
            return tf.reduce_mean(audio, axis=1)  # mono mixdown, as zoo.audio.read_audio(mono=True)

    def recognize_wav(wav):
        rows = tf.map_fn(decode, wav, fn_output_signature=tf.RaggedTensorSpec([None], tf.float32, 0))
        return recognize(rows.to_tensor(), tf.cast(rows.row_lengths(), tf.int32))

    return recognize_wav


def endpoint_schema(task, streamer=None) -> dict:
    """metadata.json's `signatures`: the Task's signature schema plus serving_default, *_wav, stream."""
    schema = task.signature_schema()
    sig = task.signature()
    base = schema["signatures"][sig.endpoint]
    schema["signatures"]["serving_default"] = dict(base, endpoint="serving_default")
    if task.kind == "synthesis":  # text in: no WAV endpoint
        from zoo.tasks.synthesis import MAX_TEXT_CHARS

        schema["max_text_chars"] = MAX_TEXT_CHARS
        return schema
    schema["signatures"][f"{sig.endpoint}_wav"] = dict(
        base, endpoint=f"{sig.endpoint}_wav",
        inputs=[{"name": "wav", "dtype": "string", "shape": [None],
                 "description": f"16-bit PCM WAV file bytes at {task.sample_rate} Hz (channels are averaged)"}])
    if streamer is not None:
        schema["signatures"]["stream"] = streamer.schema()
    schema["max_samples"] = int(MAX_SECONDS * task.sample_rate)
    return schema


# ----------------------------------------------------------------------------- warmup records
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def prediction_log_bytes(model_name: str, signature_name: str, inputs: dict) -> bytes:
    """tensorflow.serving.PredictionLog{predict_log{request}} serialized by hand: the
    tensorflow-serving-api protos are not a core dependency, the wire format is stable.
    PredictionLog.predict_log = 6; PredictLog.request = 1; PredictRequest.model_spec = 1,
    inputs = 2 (map<string, TensorProto>); ModelSpec.name = 1, signature_name = 3."""
    spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
    request = _field(1, spec)
    for key in sorted(inputs):
        proto = tf.make_tensor_proto(inputs[key]).SerializeToString()
        request += _field(2, _field(1, key.encode()) + _field(2, proto))
    return _field(6, _field(1, request))


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono WAV bytes (stdlib wave; no resampling)."""
    pcm = np.clip(np.round(np.asarray(waveform, np.float64) * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def write_warmup(path: Path, task, model_name: str, streamer=None) -> int:
    """One request per endpoint (a quiet deterministic tone; a short sentence for synthesis) so TF
    Serving traces them at load."""
    if task.kind == "synthesis":
        text = {"text": np.array([b"hello"], dtype=object)}
        requests = [("synthesize", text), ("serving_default", text)]
        return _write_requests(path, model_name, requests)
    n = getattr(task, "clip_samples", None) or task.sample_rate
    tone = (0.1 * np.sin(2 * np.pi * 440.0 * np.arange(n) / task.sample_rate)).astype(np.float32)
    endpoint = task.signature().endpoint
    names = [t.name for t in task.signature().inputs]  # waveform / mixture and its length
    plain = {names[0]: tone[None], names[1]: np.array([n], np.int32)}
    requests = [
        (endpoint, plain),
        ("serving_default", plain),
        (f"{endpoint}_wav", {"wav": np.array([wav_bytes(tone, task.sample_rate)], dtype=object)}),
    ]
    if streamer is not None:
        state = streamer.initial_state(1)
        requests.append(("stream", {"audio": tone[None, :streamer.hop_samples], **state}))
    return _write_requests(path, model_name, requests)


def _write_requests(path: Path, model_name: str, requests) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs in requests:
            writer.write(prediction_log_bytes(model_name, signature_name, inputs))
    return len(requests)


# ----------------------------------------------------------------------------- metadata
def file_digests(root: Path, skip=(METADATA_FILE,)) -> dict:
    from zoo.presets import sha256_file

    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in skip:
            out[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return out


def write_metadata(root: Path, task, *, model_name, version, fmt, streamer=None, extra=None) -> dict:
    import zoo

    preset = getattr(task, "preset", None)
    meta = {
        "format": fmt,
        "model_name": model_name,
        "version": int(version),
        "preset": preset.name if preset is not None else task.name,
        "zoo_version": zoo.__version__,
        "tensorflow_version": tf.__version__,
        "task_kind": task.kind,
        "sample_rate": task.sample_rate,
        "clip_samples": getattr(task, "clip_samples", None),
        "streaming": streamer is not None,
        **endpoint_schema(task, streamer),
        **(extra or {}),
        "files": file_digests(root),
    }
    with open(root / METADATA_FILE, "w") as f:
        json.dump(meta, f, indent=1)
    return meta


# ----------------------------------------------------------------------------- export
def build_archive(task, *, streamer=None, max_samples=None):
    import keras

    max_samples = int(max_samples or MAX_SECONDS * task.sample_rate)
    # No archive.track(task): add_endpoint already saves every variable the endpoints read, and
    # tracking the model as well stored each weight a second time (Keras 3.x: the Keras variables
    # and the tf.Variables the functions capture are separate checkpoint objects).
    archive = keras.export.ExportArchive()
    if task.kind == "synthesis":
        from zoo.tasks.synthesis import MAX_TEXT_CHARS

        archive.track(task.lexicon.table)  # a lookup table is a resource: tracked by hand
        text_sig = [tf.TensorSpec([None], tf.string, name="text")]
        archive.add_endpoint("synthesize", synthesize_fn(task, MAX_TEXT_CHARS), input_signature=text_sig)
        archive.add_endpoint("serving_default", synthesize_fn(task, MAX_TEXT_CHARS), input_signature=text_sig)
        return archive
    wave_sig = [t.to_tf() for t in task.signature().inputs]  # waveform or mixture, and its length
    endpoint = task.signature().endpoint
    fn = separate_fn if task.kind == "separation" else recognize_fn
    archive.add_endpoint(endpoint, fn(task, max_samples), input_signature=wave_sig)
    archive.add_endpoint("serving_default", fn(task, max_samples), input_signature=wave_sig)
    archive.add_endpoint(f"{endpoint}_wav", recognize_wav_fn(task, max_samples),
                         input_signature=[tf.TensorSpec([None], tf.string, name="wav")])
    if streamer is not None:
        names = list(streamer.input_signature())

        def stream(*args):
            return streamer(**dict(zip(names, args)))

        archive.add_endpoint("stream", stream, input_signature=list(streamer.input_signature().values()))
    return archive


def export_saved_model(task, base_dir, *, model_name=None, version=1, streaming=False,
                       overwrite=False) -> Path:
    """Write `<base_dir>/<model_name>/<version>/` (SavedModel + metadata.json + warmup requests).

    The version folder appears atomically (written under a hidden name, then renamed), so a
    polling TF Serving never loads a half-written model. Returns the version folder.
    """
    from zoo.tasks.recognition import AudioClassifier
    from zoo.tasks.separation import SourceSeparator
    from zoo.tasks.speech_recognizer import SpeechRecognizer
    from zoo.tasks.synthesis import TextToSpeech

    if not isinstance(task, (AudioClassifier, SpeechRecognizer, SourceSeparator, TextToSpeech)):
        raise ExportError("SavedModel export supports audio classifiers, speech recognizers, separators and "
                          "text-to-speech", received=type(task).__name__,
                          expected="AudioClassifier, SpeechRecognizer, SourceSeparator or TextToSpeech")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ExportError("version must be a positive int (TF Serving reads numeric folders)", received=version)
    model_name = model_name or task.name
    final = Path(base_dir) / model_name / str(version)
    if final.exists():
        if not overwrite:
            raise ExportError("the export folder already exists", received=str(final),
                              expected="a new version number", fix="pass a higher version, or overwrite=True")
    streamer = None
    if streaming:
        from export.streaming import make_streamer

        streamer = make_streamer(task)
    tmp = final.parent / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        build_archive(task, streamer=streamer).write_out(str(tmp), verbose=False)
        write_warmup(tmp / "assets.extra" / WARMUP_FILE, task, model_name, streamer)
        write_metadata(tmp, task, model_name=model_name, version=version, fmt="saved_model", streamer=streamer)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def read_warmup_requests(path) -> list[dict]:
    """Parse the warmup TFRecord back: [{"signature_name", "model_name", "inputs": {name: ndarray}}]."""

    def fields(buf):
        i, out = 0, []
        while i < len(buf):
            key, i = _read_varint(buf, i)
            if key & 7 != 2:
                raise ExportError("unexpected protobuf wire type in a warmup record", received=key & 7)
            size, i = _read_varint(buf, i)
            out.append((key >> 3, buf[i:i + size]))
            i += size
        return out

    records = []
    for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        (tag, log), = fields(raw)
        request = dict(fields(log))[1]
        rec = {"inputs": {}}
        for number, payload in fields(request):
            if number == 1:
                spec = dict(fields(payload))
                rec["model_name"] = spec[1].decode()
                rec["signature_name"] = spec.get(3, b"").decode()
            elif number == 2:
                entry = dict(fields(payload))
                proto = tf.make_tensor_proto(0)
                proto.ParseFromString(entry[2])
                rec["inputs"][entry[1].decode()] = tf.make_ndarray(proto)
        rec["log_type"] = tag
        records.append(rec)
    return records


def _read_varint(buf, i):
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


__all__ = ["export_saved_model", "build_archive", "endpoint_schema", "prediction_log_bytes",
           "read_warmup_requests", "wav_bytes", "MAX_SECONDS"]
