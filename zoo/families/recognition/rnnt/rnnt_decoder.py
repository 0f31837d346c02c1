"""RNN-T prediction network and joint network (Graves 2012, "Sequence transduction with recurrent
neural networks"), as one Keras layer that SpeechRecognizer uses as its decoder."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError

BLANK_ID = 0


@keras.saving.register_keras_serializable(package="zoo")
class RNNTDecoder(keras.layers.Layer):
    """Prediction network (embedding + one LSTM, fed the previous label, the blank at the start) and
    joint network logits = W_out tanh(W_enc enc + W_pred pred); blank id 0.

    Args:
        vocabulary_size: output symbols including the blank (the tokenizer's vocabulary_size).
        embedding_dim: label embedding width.
        prediction_units: LSTM units of the prediction network.
        joint_units: width of the joint network's hidden layer.
        max_symbols_per_frame: labels one frame may emit in greedy and beam decoding.
        prediction_dropout: dropout on the label embeddings and on the prediction LSTM's outputs while
            training (0: off). It weakens the prediction network's language model relative to the
            acoustics; decoding never drops anything, and no weights depend on it.
    """

    decoder_type = "rnnt"

    def __init__(self, vocabulary_size, embedding_dim=64, prediction_units=128, joint_units=128,
                 max_symbols_per_frame=4, prediction_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("vocabulary_size", vocabulary_size), ("embedding_dim", embedding_dim),
                            ("prediction_units", prediction_units), ("joint_units", joint_units),
                            ("max_symbols_per_frame", max_symbols_per_frame)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"RNNTDecoder {what} must be a positive int", received=value)
        if isinstance(prediction_dropout, bool) or not isinstance(prediction_dropout, (int, float)) \
                or not 0.0 <= prediction_dropout < 1.0:
            raise ConfigError("RNNTDecoder prediction_dropout must be in [0, 1)", received=repr(prediction_dropout),
                              expected="0 (off) or a dropout rate such as 0.2")
        self.vocabulary_size, self.embedding_dim = vocabulary_size, embedding_dim
        self.prediction_units, self.joint_units = prediction_units, joint_units
        self.max_symbols_per_frame = max_symbols_per_frame
        self.prediction_dropout = float(prediction_dropout)
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        self.cell = keras.layers.LSTMCell(prediction_units, name="prediction_lstm")
        self.prediction_rnn = keras.layers.RNN(self.cell, return_sequences=True, name="prediction_rnn")
        self.encoder_projection = keras.layers.Dense(joint_units, name="joint_encoder")
        self.prediction_projection = keras.layers.Dense(joint_units, use_bias=False, name="joint_prediction")
        self.output_layer = keras.layers.Dense(vocabulary_size, name="joint_output")

    def build(self, encoder_shape):
        dim = int(encoder_shape[-1])
        self.embedding.build((None, None))
        self.prediction_rnn.build((None, None, self.embedding_dim))
        self.encoder_projection.build((None, dim))
        self.prediction_projection.build((None, self.prediction_units))
        self.output_layer.build((None, self.joint_units))
        self.built = True

    def call(self, encoded):  # the decoder is driven through loss/greedy/beam_search
        return encoded

    # -- pieces shared by training and decoding
    def initial_state(self, batch):
        zeros = tf.zeros(tf.stack([batch, self.prediction_units]))
        return [zeros, zeros]

    def predictor_step(self, tokens, state):
        out, new_state = self.cell(self.embedding(tf.cast(tokens, tf.int32)), list(state))
        return out, list(new_state)

    def joint(self, encoder_frame, prediction):
        hidden = self.encoder_projection(encoder_frame) + self.prediction_projection(prediction)
        return self.output_layer(tf.tanh(hidden))

    def loss(self, encoded, length, labels, label_length, training=False):
        from zoo.losses.rnnt_loss import rnnt_loss

        labels = tf.cast(labels, tf.int32)
        inputs = tf.concat([tf.zeros_like(labels[:, :1]), labels], axis=1)  # blank, y_1 .. y_U
        embedded = self._dropped(self.embedding(inputs), training)
        prediction = self._dropped(self.prediction_rnn(embedded, training=training), training)  # [B, U+1, P]
        hidden = self.encoder_projection(encoded)[:, :, None, :] + self.prediction_projection(prediction)[:, None]
        logits = self.output_layer(tf.tanh(hidden))  # [B, T, U+1, V]
        return rnnt_loss(labels, logits, label_length, length)

    def _dropped(self, x, training):
        if training and self.prediction_dropout:
            return tf.nn.dropout(x, rate=self.prediction_dropout)
        return x

    def greedy(self, encoded, length, max_output_length=None):
        from zoo.decoding.rnnt_greedy import rnnt_greedy

        return rnnt_greedy(encoded, self.predictor_step, self.joint, self.initial_state, length,
                           max_symbols_per_frame=self.max_symbols_per_frame)

    def beam_search(self, encoded, beam_width=4, max_output_length=None, symbols=None, lexicon=None):
        from zoo.decoding._compiled import compiled
        from zoo.decoding.rnnt_beam_search import rnnt_beam_search

        predictor_step, joint = compiled(self, "predictor_step", self.predictor_step), compiled(self, "joint", self.joint)
        best = rnnt_beam_search(np.asarray(encoded, np.float32),
                                lambda t, s: predictor_step(tf.constant(t), [tf.constant(x) for x in s]),
                                lambda e, p: joint(tf.constant(e, tf.float32), tf.constant(p, tf.float32)),
                                lambda n: [np.zeros((n, self.prediction_units), np.float32)] * 2,
                                beam_width=beam_width, max_symbols_per_frame=self.max_symbols_per_frame,
                                decode=symbols, lexicon=lexicon)
        return best[0].text if best else ""

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "prediction_units": self.prediction_units,
                "joint_units": self.joint_units, "max_symbols_per_frame": self.max_symbols_per_frame,
                "prediction_dropout": self.prediction_dropout}
