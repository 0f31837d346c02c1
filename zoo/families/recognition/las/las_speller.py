"""LAS speller (Chan et al. 2016) with location-aware attention (Chorowski et al. 2015, "Attention-based
models for speech recognition"): an LSTM decoder fed the previous label and context; the attention
energies see the listener memory, the decoder state and a convolution of the previous alignment.

With ctc_weight > 0 the speller also owns a CTC head on the listener memory and trains on the joint
CTC-attention loss (Kim, Hori & Watanabe 2017): the CTC term's monotonic alignment teaches the
listener where the labels are long before the attention finds them by itself."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import ConfigError

SOS_EOS_ID = 0  # the tokenizer's blank id doubles as start and end symbol


@keras.saving.register_keras_serializable(package="zoo")
class LASSpeller(keras.layers.Layer):
    """Attention decoder over the listener memory [B, T, D]; id 0 starts and ends a transcript.

    Args:
        vocabulary_size: output symbols (the tokenizer's vocabulary_size; id 0 = start/end).
        embedding_dim: label embedding width.
        decoder_units: LSTM units of the speller (and width of its output layer).
        attention_units: width of the attention's hidden layer.
        location_filters, location_kernel_size: the convolution over the previous alignment.
        label_smoothing: in the teacher-forced cross-entropy.
        length_penalty: alpha of the beam search's length normalisation (score / length ** alpha).
        ctc_weight: lambda of the joint loss (1 - lambda) * attention + lambda * CTC; 0 = attention only
            (no CTC head). CTC needs a listener frame per label and per repeated pair (about 40 ms frames
            or shorter for characters); utterances too long for that drop the CTC term.
    """

    decoder_type = "attention"

    def __init__(self, vocabulary_size, embedding_dim=64, decoder_units=192, attention_units=128,
                 location_filters=16, location_kernel_size=15, label_smoothing=0.1, length_penalty=0.5,
                 ctc_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("vocabulary_size", vocabulary_size), ("embedding_dim", embedding_dim),
                            ("decoder_units", decoder_units), ("attention_units", attention_units),
                            ("location_filters", location_filters), ("location_kernel_size", location_kernel_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"LASSpeller {what} must be a positive int", received=value)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ConfigError("LASSpeller label_smoothing must be in [0, 1)", received=label_smoothing)
        if isinstance(ctc_weight, bool) or not isinstance(ctc_weight, (int, float)) or not 0.0 <= ctc_weight < 1.0:
            raise ConfigError("LASSpeller ctc_weight must be in [0, 1)", received=ctc_weight,
                              expected="0 (attention only) or the CTC share of the joint loss, e.g. 0.3")
        self.vocabulary_size, self.embedding_dim = vocabulary_size, embedding_dim
        self.decoder_units, self.attention_units = decoder_units, attention_units
        self.location_filters, self.location_kernel_size = location_filters, location_kernel_size
        self.label_smoothing, self.length_penalty = float(label_smoothing), float(length_penalty)
        self.ctc_weight = float(ctc_weight)
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        self.cell = keras.layers.LSTMCell(decoder_units, name="speller_lstm")
        self.memory_projection = keras.layers.Dense(attention_units, use_bias=False, name="attention_memory")
        self.query_projection = keras.layers.Dense(attention_units, name="attention_query")
        self.location_conv = keras.layers.Conv1D(location_filters, location_kernel_size, padding="same",
                                                 use_bias=False, name="attention_location_conv")
        self.location_projection = keras.layers.Dense(attention_units, use_bias=False, name="attention_location")
        self.energy = keras.layers.Dense(1, use_bias=False, name="attention_energy")
        self.output_hidden = keras.layers.Dense(decoder_units, activation="tanh", name="output_hidden")
        self.output_layer = keras.layers.Dense(vocabulary_size, name="output_logits")
        self.ctc_head = keras.layers.Dense(vocabulary_size, name="ctc_logits") if self.ctc_weight > 0 else None

    def build(self, encoder_shape):
        dim = int(encoder_shape[-1])
        self.memory_dim = dim
        self.embedding.build((None,))
        self.cell.build((None, self.embedding_dim + dim))
        self.memory_projection.build((None, None, dim))
        self.query_projection.build((None, self.decoder_units))
        self.location_conv.build((None, None, 1))
        self.location_projection.build((None, None, self.location_filters))
        self.energy.build((None, None, self.attention_units))
        self.output_hidden.build((None, self.decoder_units + dim))
        self.output_layer.build((None, self.decoder_units))
        if self.ctc_head is not None:
            self.ctc_head.build((None, None, dim))
        self.built = True

    def call(self, encoded):  # the decoder is driven through loss/greedy/beam_search
        return encoded

    # -- one decoder step
    def _memory(self, encoded, length):
        mask = tf.range(tf.shape(encoded)[1])[None, :] < tf.cast(length, tf.int32)[:, None]
        return encoded, self.memory_projection(encoded), mask

    def initial_state(self, encoded):
        batch, frames = tf.shape(encoded)[0], tf.shape(encoded)[1]
        zeros = tf.zeros(tf.stack([batch, self.decoder_units]))
        return [zeros, zeros, tf.zeros(tf.stack([batch, self.memory_dim])), tf.zeros(tf.stack([batch, frames]))]

    def step(self, tokens, state, memory, keys, mask, training=False):
        """tokens i32[B], state [h, c, context, alignment] -> (logits [B, V], new state)."""
        h, c, context, alignment = state
        x = tf.concat([self.embedding(tf.cast(tokens, tf.int32)), context], axis=-1)
        out, (h, c) = self.cell(x, [h, c], training=training)
        location = self.location_projection(self.location_conv(alignment[:, :, None]))
        energy = self.energy(tf.tanh(keys + self.query_projection(out)[:, None, :] + location))[:, :, 0]
        alignment = tf.nn.softmax(tf.where(mask, energy, -1e9), axis=-1)
        context = tf.reduce_sum(alignment[:, :, None] * memory, axis=1)
        logits = self.output_layer(self.output_hidden(tf.concat([out, context], axis=-1)))
        return logits, [h, c, context, alignment]

    # -- training: teacher forcing (+ CTC on the listener memory)
    def loss(self, encoded, length, labels, label_length, training=False):
        attention = self._attention_loss(encoded, length, labels, label_length, training)
        if self.ctc_head is None:
            return attention
        return (1.0 - self.ctc_weight) * attention + self.ctc_weight * self._ctc_loss(encoded, length, labels,
                                                                                       label_length)

    def _ctc_loss(self, encoded, length, labels, label_length):
        """CTC over the memory frames, 0 for an utterance whose labels cannot be aligned in its frames."""
        from zoo.losses.ctc_loss import masked_ctc_loss

        return masked_ctc_loss(labels, self.ctc_head(encoded), label_length, length)

    def _attention_loss(self, encoded, length, labels, label_length, training):
        memory, keys, mask = self._memory(encoded, length)
        labels = tf.cast(labels, tf.int32)
        label_length = tf.cast(label_length, tf.int32)
        steps = tf.shape(labels)[1] + 1
        inputs = tf.concat([tf.fill(tf.stack([tf.shape(labels)[0], 1]), SOS_EOS_ID), labels], axis=1)
        position = tf.range(steps)[None, :]
        targets = tf.where(position < label_length[:, None], tf.pad(labels, [[0, 0], [0, 1]]), SOS_EOS_ID)
        weights = tf.cast(position <= label_length[:, None], tf.float32)

        def body(carry, tokens):
            logits, new_state = self.step(tokens, carry[1], memory, keys, mask, training=training)
            return [logits, new_state]

        first = [tf.zeros(tf.stack([tf.shape(labels)[0], self.vocabulary_size])), self.initial_state(encoded)]
        logits = tf.scan(body, tf.transpose(inputs), initializer=first)[0]  # [U+1, B, V]
        log_probs = tf.nn.log_softmax(tf.transpose(logits, [1, 0, 2]))
        nll = -tf.gather(log_probs, targets, batch_dims=2)
        smooth = -tf.reduce_mean(log_probs, axis=-1)
        eps = self.label_smoothing
        return tf.reduce_sum(((1.0 - eps) * nll + eps * smooth) * weights, axis=1)

    # -- decoding
    def greedy(self, encoded, length, max_output_length=200):
        """In-graph greedy decoding until every row emitted the end symbol (or max_output_length)."""
        memory, keys, mask = self._memory(encoded, length)
        batch = tf.shape(encoded)[0]
        tokens = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
        done = tf.zeros([batch], tf.bool)

        def cond(i, previous, state, done, tokens):
            return tf.logical_and(i < max_output_length, tf.logical_not(tf.reduce_all(done)))

        def body(i, previous, state, done, tokens):
            logits, state = self.step(previous, state, memory, keys, mask)
            best = tf.argmax(logits, axis=-1, output_type=tf.int32)
            best = tf.where(done, SOS_EOS_ID, best)
            done = tf.logical_or(done, tf.equal(best, SOS_EOS_ID))
            return i + 1, best, state, done, tokens.write(i, best)

        _, _, _, _, tokens = tf.while_loop(
            cond, body, (tf.constant(0), tf.fill([batch], SOS_EOS_ID), self.initial_state(encoded), done, tokens))
        token_ids = tf.transpose(tokens.stack())  # [B, steps]; zeros after the end symbol
        token_ids = tf.concat([token_ids, tf.zeros(tf.stack([batch, 1]), tf.int32)], axis=1)
        token_length = tf.argmin(tf.cast(tf.not_equal(token_ids, SOS_EOS_ID), tf.int32), axis=1,
                                 output_type=tf.int32)
        width = tf.maximum(tf.reduce_max(token_length), 1)
        return token_ids[:, :width], token_length

    def _log_prob_step(self, tokens, h, c, context, alignment, memory, keys):
        logits, new = self.step(tokens, [h, c, context, alignment], memory, keys, tf.ones(tf.shape(alignment), tf.bool))
        return tf.nn.log_softmax(logits), new

    def beam_search(self, encoded, beam_width=4, max_output_length=200, symbols=None, lexicon=None):
        """Best transcript of one utterance's memory [T, D] (joint CTC-attention scores with a CTC head)."""
        best = self.beam_search_hypotheses(encoded, beam_width=beam_width, max_output_length=max_output_length,
                                           symbols=symbols, lexicon=lexicon)
        return best[0].text if best else ""

    def beam_search_hypotheses(self, encoded, beam_width=4, max_output_length=200, symbols=None, ctc_weight=None,
                               lexicon=None):
        """Up to beam_width Hypothesis of one utterance's memory [T, D], best first.

        ctc_weight: lambda of the one-pass joint score (1 - lambda) log p_att + lambda log p_ctc, the
        CTC term as prefix scores (Watanabe et al. 2017); None = the training weight, 0 = attention only.
        """
        from zoo.decoding._compiled import compiled
        from zoo.decoding.attention_beam_search import attention_beam_search

        weight = self.ctc_weight if ctc_weight is None else float(ctc_weight)
        if not 0.0 <= weight < 1.0 or (weight > 0 and self.ctc_head is None):
            raise ConfigError("LASSpeller beam search: ctc_weight needs a CTC head and must be in [0, 1)",
                              received=weight, expected="0 without a CTC head (ctc_weight 0 in training)")
        encoded = tf.constant(np.asarray(encoded, np.float32)[None])
        memory, keys, _ = self._memory(encoded, tf.shape(encoded)[1:2])
        state = [np.asarray(s) for s in self.initial_state(encoded)] + [memory.numpy(), keys.numpy()]

        log_prob_step = compiled(self, "log_prob_step", self._log_prob_step)

        def step(tokens, state):
            log_probs, new = log_prob_step(tf.constant(tokens, tf.int32), *(tf.constant(s) for s in state[:6]))
            return log_probs.numpy(), [s.numpy() for s in new] + [state[4], state[5]]

        if weight > 0:
            step, state = self._joint_ctc_step(step, state, self.ctc_head(encoded)[0].numpy(), weight)
        return attention_beam_search(step, state, SOS_EOS_ID, SOS_EOS_ID, beam_width=beam_width,
                                     max_length=int(max_output_length), length_penalty=self.length_penalty,
                                     decode=symbols, normalize=False, lexicon=lexicon)

    @staticmethod
    def _joint_ctc_step(attention_step, attention_state, ctc_logits, weight):
        """Wraps the attention step: every token's score becomes (1 - weight) * its attention
        log-probability + weight * its CTC prefix-score increment (the whole CTC log-probability at
        the end symbol). The state gains the CTC states of each hypothesis's extensions by every
        token, [N, V, T, 2], of which the next step keeps the one of the token the search chose."""
        from zoo.decoding.ctc_prefix_score import CTCPrefixScorer

        scorer = CTCPrefixScorer(ctc_logits)
        frames, vocabulary = ctc_logits.shape
        labels = np.arange(1, vocabulary)
        empty, _ = scorer.initial_state()
        r_all = np.full((1, vocabulary, frames, 2), -np.inf)
        psi_all = np.full((1, vocabulary), -np.inf)
        r_all[0, SOS_EOS_ID], psi_all[0, SOS_EOS_ID] = empty, 0.0  # the start symbol: the empty prefix

        def step(tokens, state):
            log_probs, new_attention = attention_step(tokens, state[:-2])
            rows = np.arange(len(tokens))
            r, psi = state[-2][rows, tokens], state[-1][rows, tokens]
            last = np.where(tokens == SOS_EOS_ID, -1, tokens)  # only the first step feeds the start symbol
            new_psi = np.empty((len(tokens), vocabulary))
            new_r = np.full((len(tokens), vocabulary, frames, 2), -np.inf)  # an ended hypothesis is not extended
            new_psi[:, 1:], new_r[:, 1:] = scorer.extend(r, last, labels)
            new_psi[:, SOS_EOS_ID] = scorer.final(r)
            return (1.0 - weight) * log_probs + weight * (new_psi - psi[:, None]), new_attention + [new_r, new_psi]

        return step, list(attention_state) + [r_all, psi_all]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "decoder_units": self.decoder_units,
                "attention_units": self.attention_units, "location_filters": self.location_filters,
                "location_kernel_size": self.location_kernel_size, "label_smoothing": self.label_smoothing,
                "length_penalty": self.length_penalty, "ctc_weight": self.ctc_weight}
