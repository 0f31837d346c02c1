"""Sequence recognition: waveform -> frontend -> encoder -> CTC head, RNN-T or attention decoder -> text.

The Keras graph maps (waveform [B, T], waveform_length [B]) to per-frame outputs
{"logits": [B, F, V] (the CTC head; for RNN-T and attention decoders the encoder frames),
"logit_length": [B]}. `recognize` adds the in-graph greedy decoding and the text (a gather of
the tokenizer's symbols and a string join, stripped for word pieces; core ops only), which is what the SavedModel's
recognize endpoint serves. Beam searches run outside the graph (`beam_search`).

Frame arithmetic: the frontend frames are never centred, F0 = max(0, 1 + (L - frame_length) //
frame_step), and every backbone reduces time with 'same'-padded strides, F = ceil(F0 / time_stride).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.signatures import sequence_signature
from zoo.tasks.recognition import _as_layer
from zoo.tasks.task import Task

DECODERS = ("ctc", "rnnt", "attention")


def build_tokenizer(spec):
    """{"class_name": "CharTokenizer" | "PhonemeTokenizer" | "WordPieceTokenizer", "config": {...}} -> a
    zoo.text tokenizer."""
    from zoo.text import CharTokenizer, PhonemeTokenizer, WordPieceTokenizer

    classes = {"CharTokenizer": CharTokenizer, "PhonemeTokenizer": PhonemeTokenizer,
               "WordPieceTokenizer": WordPieceTokenizer}
    if not isinstance(spec, dict) or spec.get("class_name") not in classes:
        raise ConfigError("SpeechRecognizer tokenizer must name a zoo.text tokenizer", received=spec,
                          expected=f"{{'class_name': one of {sorted(classes)}, 'config': {{...}}}}",
                          fix="e.g. {'class_name': 'CharTokenizer', 'config': {'normalize': True}}")
    return classes[spec["class_name"]].from_config(dict(spec.get("config", {})))


@keras.saving.register_keras_serializable(package="zoo")
class SequenceLength(keras.layers.Layer):
    """waveform_length i32[B] -> valid output frames i32[B] of frontend + backbone (see module doc)."""

    def __init__(self, frame_length, frame_step, time_stride=1, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("frame_length", frame_length), ("frame_step", frame_step),
                            ("time_stride", time_stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"SequenceLength {what} must be a positive int", received=value)
        self.frame_length, self.frame_step, self.time_stride = frame_length, frame_step, time_stride

    def call(self, waveform_length):
        length = tf.cast(tf.reshape(waveform_length, [-1]), tf.int32)
        frames = tf.maximum(0, 1 + (length - self.frame_length) // self.frame_step)
        frames = tf.where(length >= self.frame_length, frames, 0)
        return -(-frames // self.time_stride)

    def compute_output_spec(self, waveform_length):
        return keras.KerasTensor((waveform_length.shape[0],), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step,
                "time_stride": self.time_stride}


@keras.saving.register_keras_serializable(package="zoo")
class SpeechRecognizer(Task):
    """Speech-to-text (CTC, RNN-T or attention encoder-decoder) over a log-mel frontend.

    Args:
        backbone: encoder, features [B, F0, bins] -> [B, F, D]; exposes `time_stride` (int).
        frontend: waveform [B, T] -> features (kept inside the exported graph).
        tokenizer: {"class_name", "config"} of a zoo.text tokenizer; id 0 is the CTC/RNN-T blank and
            the attention decoder's start/end symbol.
        sample_rate: Hz of the expected waveform.
        decoder: None for a CTC head (Dense over the encoder frames), or a decoder layer with
            `decoder_type` "rnnt" (prediction network + joint) or "attention" (speller).
        dropout: dropout on the encoder output before the CTC head (training only).
        max_output_length: most tokens the in-graph attention decoder emits per utterance.
    """

    kind = "recognition"

    def __init__(self, backbone, frontend, tokenizer, sample_rate, decoder=None, dropout=0.0,
                 max_output_length=200, **kwargs):
        backbone = _as_layer(backbone, "backbone")
        frontend = _as_layer(frontend, "frontend")
        decoder = None if decoder is None else _as_layer(decoder, "decoder")
        tokenizer_spec = {"class_name": tokenizer["class_name"], "config": dict(tokenizer.get("config", {}))} \
            if isinstance(tokenizer, dict) else tokenizer
        tok = build_tokenizer(tokenizer_spec)
        if decoder is not None and getattr(decoder, "decoder_type", None) not in DECODERS[1:]:
            raise ConfigError("SpeechRecognizer decoder must be an RNN-T or attention decoder layer",
                              received=type(decoder).__name__, expected="decoder_type 'rnnt' or 'attention'")
        if decoder is not None and decoder.vocabulary_size != tok.vocabulary_size:
            raise ConfigError("the decoder's vocabulary size differs from the tokenizer's",
                              received=decoder.vocabulary_size, expected=tok.vocabulary_size,
                              fix="set the decoder's vocabulary_size to the tokenizer's vocabulary_size")
        if decoder is not None and not decoder.built:
            decoder.build(tuple(backbone.output_shape))
        stride = int(getattr(backbone, "time_stride", 1))
        waveform = keras.Input(shape=(None,), dtype="float32", name="waveform")
        waveform_length = keras.Input(shape=(), dtype="int32", name="waveform_length")
        lengths = SequenceLength(frontend.frame_length, frontend.frame_step, stride, name="logit_length")
        head_dropout = keras.layers.Dropout(float(dropout), name="head_dropout")
        head = keras.layers.Dense(tok.vocabulary_size, name="logits") if decoder is None else None
        encoded = backbone(frontend(waveform))
        outputs = {"logits": head(head_dropout(encoded)) if head is not None else encoded,
                   "logit_length": lengths(waveform_length)}
        super().__init__(inputs={"waveform": waveform, "waveform_length": waveform_length}, outputs=outputs,
                         **kwargs)
        self.backbone, self.frontend, self.decoder = backbone, frontend, decoder
        self.head_dropout, self.head, self.lengths = head_dropout, head, lengths
        self.tokenizer_spec, self.tokenizer = tokenizer_spec, tok
        self._sample_rate = int(sample_rate)
        self.dropout = float(dropout)
        self.max_output_length = int(max_output_length)
        self.decoder_type = "ctc" if decoder is None else decoder.decoder_type
        # What each id writes into the text (blank/eos: nothing); word pieces start words with a space,
        # so their joined text is stripped.
        self._symbols = list(getattr(tok, "symbols", [""] + list(tok.vocabulary[1:])))
        self._strip_text = bool(getattr(tok, "word_initial_space", False))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "frontend": keras.saving.serialize_keras_object(self.frontend),
            "tokenizer": self.tokenizer_spec,
            "sample_rate": self.sample_rate,
            "decoder": None if self.decoder is None else keras.saving.serialize_keras_object(self.decoder),
            "dropout": self.dropout,
            "max_output_length": self.max_output_length,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "frontend"):
            config[key] = _as_layer(config[key], key)
        if config.get("decoder") is not None:
            config["decoder"] = _as_layer(config["decoder"], "decoder")
        return cls(**config)

    def signature(self):
        return sequence_signature()

    @property
    def labels(self):
        return None

    # ------------------------------------------------------------------ training views
    def encode(self, features, feature_frames, training=False):
        """features [B, F0, bins] + frontend frames i32[B] -> (encoder/CTC outputs [B, F, .], lengths i32[B])."""
        encoded = self.backbone(features, training=training)
        stride = int(getattr(self.backbone, "time_stride", 1))
        length = -(-tf.cast(feature_frames, tf.int32) // stride)
        if self.head is not None:
            encoded = self.head(self.head_dropout(encoded, training=training))
        return encoded, length

    def sequence_loss(self, features, feature_frames, labels, label_length, training=False):
        """Per-utterance loss f32[B]: CTC, RNN-T, or teacher-forced cross-entropy (attention)."""
        encoded, length = self.encode(features, feature_frames, training=training)
        return self.encoded_loss(encoded, length, labels, label_length, training=training)

    def encoded_loss(self, encoded, length, labels, label_length, training=False):
        """sequence_loss from the encoder's outputs (what an auxiliary loss on the encoder also sees)."""
        from zoo.losses.ctc_loss import ctc_loss

        if self.decoder is None:
            return ctc_loss(labels, encoded, label_length, length)
        return self.decoder.loss(encoded, length, labels, label_length, training=training)

    # ------------------------------------------------------------------ in-graph decoding
    def decode_greedy(self, encoded, length):
        """Encoder outputs + lengths -> (token_ids i32[B, U], token_length i32[B]), in the graph."""
        if self.decoder is None:
            from zoo.decoding.ctc_greedy import ctc_greedy

            return ctc_greedy(encoded, length)
        return self.decoder.greedy(encoded, length, max_output_length=self.max_output_length)

    def ids_to_text(self, token_ids, token_length):
        """token_ids i32[B, U] -> text string[B] (tokens past token_length ignored)."""
        symbols = tf.constant(self._symbols)
        valid = tf.range(tf.shape(token_ids)[1])[None, :] < token_length[:, None]
        text = tf.strings.reduce_join(tf.gather(symbols, tf.where(valid, token_ids, 0)), axis=-1)
        return tf.strings.strip(text) if self._strip_text else text

    def _text_of_ids(self, ids) -> str:
        """ids_to_text outside the graph (for the beam searches)."""
        text = "".join(self._symbols[i] for i in ids)
        return text.strip() if self._strip_text else text

    def recognize(self, waveform, waveform_length):
        """The sequence recognize endpoint: {"token_ids", "token_length", "text"} (DESIGN.md section 3)."""
        out = self({"waveform": waveform, "waveform_length": waveform_length}, training=False)
        token_ids, token_length = self.decode_greedy(out["logits"], out["logit_length"])
        return {"token_ids": token_ids, "token_length": token_length,
                "text": self.ids_to_text(token_ids, token_length)}

    # ------------------------------------------------------------------ outside the graph
    def written_text(self, text: str) -> str:
        """`text` as this model writes it (the tokenizer's normalisation and vocabulary): what WER compares."""
        return self.tokenizer.decode(self.tokenizer.encode(text))

    def lexicon(self, words):
        """A zoo.decoding.lexicon.Lexicon over this model's vocabulary of `words`, each normalised as the
        model writes it (so "Open" and "open" are one word), for beam_search; a Lexicon is returned as is."""
        from zoo.decoding.lexicon import Lexicon

        if isinstance(words, Lexicon):
            return words
        return Lexicon({w for word in words for w in self.written_text(word).split()}, self._symbols)

    def beam_search(self, encoded, length, beam_width=8, lexicon=None):
        """Best hypothesis text per utterance with the decoder's beam search (numpy, outside the graph);
        `lexicon` (a Lexicon from self.lexicon(words), or the words) keeps every word in that list."""
        encoded, length = np.asarray(encoded), np.asarray(length)
        lexicon = None if lexicon is None else self.lexicon(lexicon)
        if self.decoder is None:
            from zoo.decoding.ctc_prefix_beam_search import ctc_prefix_beam_search

            return [ctc_prefix_beam_search(encoded[b], beam_width, length=int(length[b]), decode=self._text_of_ids,
                                           lexicon=lexicon)[0].text for b in range(len(encoded))]
        return [self.decoder.beam_search(encoded[b, :int(length[b])], beam_width=beam_width,
                                         max_output_length=self.max_output_length, symbols=self._text_of_ids,
                                         lexicon=lexicon)
                for b in range(len(encoded))]

    def _check_waveform(self, waveform):
        waveform = np.asarray(waveform, dtype=np.float32)
        if waveform.ndim != 1 or waveform.size == 0:
            raise AudioError("SpeechRecognizer expects one non-empty mono waveform",
                             received=f"shape {waveform.shape}", expected="shape [T] with T > 0")
        if waveform.size < self.frontend.frame_length:
            waveform = np.pad(waveform, (0, self.frontend.frame_length - waveform.size))
        return waveform

    def predict_waveform(self, waveform, beam_width=None, lexicon=None) -> dict:
        """Transcribe one mono waveform at self.sample_rate: {"text", "token_ids"}; greedy unless
        beam_width is given (and then kept to `lexicon`, a Lexicon or words, if given)."""
        if lexicon is not None and not beam_width:
            raise ConfigError("a lexicon keeps a beam search to its words; greedy decoding takes none",
                              received={"beam_width": beam_width}, expected="beam_width >= 1 with a lexicon",
                              fix="pass beam_width=8 (zoo predict: --beam-width 8)")
        waveform = self._check_waveform(waveform)
        inputs = (tf.constant(waveform[None]), tf.constant([waveform.size], tf.int32))
        if beam_width:
            out = self({"waveform": inputs[0], "waveform_length": inputs[1]}, training=False)
            text = self.beam_search(out["logits"], out["logit_length"], beam_width=int(beam_width),
                                    lexicon=lexicon)[0]
            return {"text": text, "token_ids": self.tokenizer.encode(text) if text else []}
        out = _recognize_fn(self)(*inputs)
        n = int(out["token_length"][0])
        return {"text": out["text"].numpy()[0].decode("utf-8"),
                "token_ids": [int(i) for i in out["token_ids"].numpy()[0, :n]]}


def _recognize_fn(task):
    fn = getattr(task, "_recognize_compiled", None)
    if fn is None:
        fn = tf.function(task.recognize, input_signature=[tf.TensorSpec([None, None], tf.float32),
                                                          tf.TensorSpec([None], tf.int32)])
        task._recognize_compiled = fn
    return fn
