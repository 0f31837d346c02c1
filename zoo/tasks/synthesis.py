"""Synthesis: text string[B] -> waveform f32[B, T] + waveform_length i32[B] (DESIGN.md section 3).

TextToSpeech = lexicon (text -> phoneme ids, in-graph: zoo.text.PhonemeLexicon) + acoustic model
(phoneme ids -> log-mel frames, e.g. FastSpeechBackbone) + vocoder (log-mel -> waveform: Griffin-Lim
or a neural vocoder). The Keras graph is the part after the lexicon: token_ids i32[B, L] ->
{"waveform", "waveform_length", "mel", "mel_length"}; `synthesize(text)` puts the lexicon in
front, which is what the SavedModel's synthesize endpoint serves.

The mel contract is zoo.families.synthesis.synthesis_protocol's: N frames stand for N hops of
audio. A vocoder's output for N frames is cropped to N * hop samples centred in it (Griffin-Lim
returns (N - 1) * hop + frame_length samples: MEL_PAD more on each side; a neural vocoder exactly
N * hop). Frames past a row's mel_length are set to silence (log of the mel's log offset) before the
vocoder and samples past waveform_length are zeroed after it, so a row does not depend on its batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.signatures import synthesis_signature
from zoo.tasks.recognition import _as_layer
from zoo.tasks.task import Task

MAX_TEXT_CHARS = 1000  # longest accepted text per row (about a minute of speech); longer text is split


@keras.saving.register_keras_serializable(package="zoo")
class SilenceFrames(keras.layers.Layer):
    """(mel f32[B, N, M], mel_length i32[B]) -> f32[B, N + tail_frames, M]: frames past mel_length
    set to `silence`, and `tail_frames` silent frames appended. With tail_frames at least the
    vocoder's reach (in frames), a row's last samples see the same silence alone as in a batch
    beside longer rows."""

    def __init__(self, silence, tail_frames=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(tail_frames, bool) or not isinstance(tail_frames, int) or tail_frames < 0:
            raise ConfigError("SilenceFrames tail_frames must be an int >= 0", received=repr(tail_frames))
        self.silence, self.tail_frames = float(silence), tail_frames

    def call(self, mel, mel_length):
        mel = tf.pad(mel, [[0, 0], [0, self.tail_frames], [0, 0]])
        valid = tf.range(tf.shape(mel)[1])[None, :, None] < tf.reshape(mel_length, [-1, 1, 1])
        return tf.where(valid, mel, tf.cast(self.silence, mel.dtype))

    def compute_output_spec(self, mel, mel_length):
        return keras.KerasTensor((mel.shape[0], None, mel.shape[2]), dtype=mel.dtype)

    def get_config(self):
        return {**super().get_config(), "silence": self.silence, "tail_frames": self.tail_frames}


@keras.saving.register_keras_serializable(package="zoo")
class VocoderCrop(keras.layers.Layer):
    """(waveform f32[B, T'], mel_length i32[B]) -> (waveform f32[B, max(mel_length) * hop],
    waveform_length i32[B] = mel_length * hop): drops `offset` samples on the left, keeps the
    longest row's samples, zeroes samples past each row's length."""

    def __init__(self, hop, offset, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("hop", hop), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (what == "hop" and value < 1):
                raise ConfigError(f"VocoderCrop {what} must be an int >= {1 if what == 'hop' else 0}",
                                  received=repr(value))
        self.hop, self.offset = hop, offset

    def call(self, waveform, mel_length):
        total = tf.reduce_max(mel_length) * self.hop
        out = waveform[:, self.offset:self.offset + total]
        length = tf.cast(mel_length, tf.int32) * self.hop
        valid = tf.range(tf.shape(out)[1])[None, :] < length[:, None]
        return tf.where(valid, out, tf.zeros_like(out)), length

    def compute_output_spec(self, waveform, mel_length):
        return (keras.KerasTensor((waveform.shape[0], None), dtype=waveform.dtype),
                keras.KerasTensor((waveform.shape[0],), dtype="int32"))

    def get_config(self):
        return {**super().get_config(), "hop": self.hop, "offset": self.offset}


def _default_vocoder():
    from zoo.families.synthesis.synthesis_protocol import TTS_MEL

    return {"class_name": "GriffinLimVocoder", "config": {**TTS_MEL, "num_iterations": 32}}


@keras.saving.register_keras_serializable(package="zoo")
class TextToSpeech(Task):
    """Text-to-speech (see the module doc).

    Args:
        backbone: acoustic model {"token_ids": i32[B, L]} -> {"mel": f32[B, N, M], "mel_length": i32[B], ...}
            with int `vocabulary_size` and `num_mel_bins`.
        sample_rate: Hz of the output.
        vocoder: mel f32[B, N, M] -> waveform f32[B, T'] (a layer or its config; default Griffin-Lim
            with 32 iterations on the synthesis mel contract).
        lexicon: a PhonemeLexicon or its config (default: the committed en-us lexicon).
        hop: samples per mel frame. silence: the log-mel value of digital silence.
        tail_frames: silent frames appended before the vocoder (at least its reach in frames;
            default: Griffin-Lim's frame_length / hop).
        frontend: must be None (kept for the preset schema).
    """

    kind = "synthesis"

    def __init__(self, backbone, sample_rate, vocoder=None, lexicon=None, hop=200, silence=None, tail_frames=None,
                 frontend=None, **kwargs):
        from zoo.families.synthesis.synthesis_protocol import TTS_MEL
        from zoo.text.phoneme_lexicon import PhonemeLexicon, default_entries

        import zoo.families.synthesis.griffin_lim.griffin_lim_vocoder  # noqa: F401  (registers the default)

        if frontend is not None:
            raise ConfigError("TextToSpeech takes no frontend (text is its input)", received=frontend,
                              expected="None", fix="set the preset's frontend to None")
        backbone = _as_layer(backbone, "backbone")
        vocoder = _as_layer(vocoder if vocoder is not None else _default_vocoder(), "vocoder")
        if lexicon is None:
            lexicon = PhonemeLexicon(default_entries(), name="lexicon")
        elif isinstance(lexicon, dict):
            lexicon = PhonemeLexicon.from_config(lexicon.get("config", lexicon))
        if not isinstance(lexicon, PhonemeLexicon):
            raise ConfigError("TextToSpeech lexicon must be a PhonemeLexicon or its config",
                              received=type(lexicon).__name__)
        if getattr(backbone, "vocabulary_size", None) != lexicon.vocabulary_size:
            raise ConfigError("the acoustic model's vocabulary does not match the lexicon's phonemes",
                              received=getattr(backbone, "vocabulary_size", None),
                              expected=lexicon.vocabulary_size, fix="build the backbone with the lexicon's inventory")
        silence = float(np.log(TTS_MEL["log_offset"])) if silence is None else float(silence)
        if tail_frames is None:
            tail_frames = -(-TTS_MEL["frame_length"] // hop)
        n = 10  # any frame count: the vocoder's extra samples do not depend on it
        extra = vocoder.compute_output_shape((1, n, backbone.num_mel_bins))[1] - n * hop
        if extra is None or extra < 0 or extra % 2:
            raise ConfigError("the vocoder's output length does not fit the mel contract",
                              received=f"{extra} extra samples for {n} frames of {hop}",
                              expected="N * hop samples plus an even, non-negative margin")
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        out = backbone({"token_ids": token_ids})
        mel = SilenceFrames(silence, int(tail_frames), name="silence_padding")(out["mel"], out["mel_length"])
        waveform, waveform_length = VocoderCrop(int(hop), int(extra // 2), name="waveform")(
            vocoder(mel), out["mel_length"])
        super().__init__(inputs={"token_ids": token_ids},
                         outputs={"waveform": waveform, "waveform_length": waveform_length, "mel": mel,
                                  "mel_length": out["mel_length"]}, **kwargs)
        self.backbone, self.vocoder, self.lexicon = backbone, vocoder, lexicon
        self._sample_rate, self.hop, self.silence, self.tail_frames = int(sample_rate), int(hop), silence, tail_frames

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "vocoder": keras.saving.serialize_keras_object(self.vocoder),
            "lexicon": keras.saving.serialize_keras_object(self.lexicon),
            "sample_rate": self.sample_rate,
            "hop": self.hop,
            "silence": self.silence,
            "tail_frames": self.tail_frames,
            "frontend": None,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = _as_layer(config["backbone"], "backbone")
        config["vocoder"] = _as_layer(config["vocoder"], "vocoder")
        return cls(**config)

    def signature(self):
        return synthesis_signature()

    @property
    def labels(self):
        return None

    def synthesize(self, text):
        """Graph function: text string[B] -> {"waveform": f32[B, T], "waveform_length": i32[B]}."""
        token_ids, _ = self.lexicon(text)
        out = self({"token_ids": token_ids}, training=False)
        return {"waveform": out["waveform"], "waveform_length": out["waveform_length"]}

    def predict_text(self, text: str) -> dict:
        """Synthesize one sentence: {"waveform": f32[T], "sample_rate": int}."""
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("text must be a non-empty string", received=repr(text)[:80],
                              expected="e.g. 'turn on the kitchen light'", fix="pass the sentence to speak")
        if not self.lexicon.words(text):
            raise ConfigError("text has no speakable words", received=repr(text)[:80],
                              expected="letters a-z or digits", fix="write the sentence in English letters")
        if len(text) > MAX_TEXT_CHARS:
            raise ConfigError(f"text longer than {MAX_TEXT_CHARS} characters", received=f"{len(text)} characters",
                              expected=f"<= {MAX_TEXT_CHARS}", fix="split it into sentences")
        tokens = len(self.lexicon.phonemes(text))
        if tokens > self.lexicon.max_tokens:
            raise ConfigError("text too long for one call", received=f"{tokens} phonemes",
                              expected=f"<= {self.lexicon.max_tokens}", fix="split it into sentences")
        if getattr(self, "_synthesize_fn", None) is None:  # traced once; reused for every sentence
            self._synthesize_fn = tf.function(self.synthesize, input_signature=[tf.TensorSpec([None], tf.string)])
        out = self._synthesize_fn(tf.constant([text]))
        n = int(out["waveform_length"][0])
        return {"waveform": out["waveform"].numpy()[0, :n], "sample_rate": self.sample_rate}

    def predict_waveform(self, waveform):
        raise ConfigError("TextToSpeech synthesizes from text, it does not take audio", received="a waveform",
                          fix="call predict_text(text) or `zoo predict PRESET --text ...`")
