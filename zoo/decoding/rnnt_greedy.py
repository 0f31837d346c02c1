"""Greedy RNN-T decoding inside the graph: tf.while_loop over frames, at most
max_symbols_per_frame labels per frame, batched with per-row lengths."""

from __future__ import annotations

import tensorflow as tf

from zoo.errors import ConfigError

BLANK_ID = 0


def _select(mask, new, old):
    """Per-row choice between two tensors of the same shape [B, ...]."""
    mask = tf.reshape(mask, tf.concat([tf.shape(mask), tf.ones([tf.rank(new) - 1], tf.int32)], 0))
    return tf.where(mask, new, old)


def rnnt_greedy(encoder_out, predictor_step, joint, initial_state, encoder_length=None,
                max_symbols_per_frame: int = 4):
    """Greedy transducer decoding (blank id 0; the prediction network starts from the blank).

    At frame t each row repeatedly takes the argmax of joint(encoder_out[:, t], prediction); a
    label is emitted and fed to the prediction network, a blank (or the max_symbols_per_frame
    limit) moves the row to frame t + 1. Rows past their encoder_length emit nothing.

    Args:
        encoder_out: float32[B, T, D] encoder frames.
        predictor_step: (tokens i32[B], state) -> (prediction f32[B, P], new state); state is any
            nest of tensors with leading batch axis (an RNN cell's states, a stateless [B, 0], ...).
        joint: (encoder frame f32[B, D], prediction f32[B, P]) -> logits f32[B, V].
        initial_state: batch_size (scalar i32 tensor) -> the prediction network's initial state.
        encoder_length: optional i32[B] valid frames per row (default T).
        max_symbols_per_frame: int >= 1, labels a frame may emit before the search moves on.
    Returns:
        token_ids i32[B, U] left-aligned and padded with 0 (U = max(1, max(token_length))),
        token_length i32[B].

    Only core TF ops (While, ArgMax, TensorScatterUpdate, Select) besides what the callables use,
    so it traces into a tf.function and an exported SavedModel.
    """
    if isinstance(max_symbols_per_frame, bool) or not isinstance(max_symbols_per_frame, int) \
            or max_symbols_per_frame < 1:
        raise ConfigError("rnnt_greedy: max_symbols_per_frame must be an int >= 1",
                          received=max_symbols_per_frame, expected=">= 1",
                          fix="use 4 to 10 (a frame rarely carries more labels)")
    encoder_out = tf.convert_to_tensor(encoder_out)
    batch = tf.shape(encoder_out)[0]
    frames = tf.shape(encoder_out)[1]
    if encoder_length is None:
        encoder_length = tf.fill([batch], frames)
    encoder_length = tf.cast(tf.reshape(encoder_length, [-1]), tf.int32)
    rows = tf.range(batch)
    capacity = frames * max_symbols_per_frame  # column `capacity` takes writes of idle rows

    prediction, state = predictor_step(tf.fill([batch], BLANK_ID), initial_state(batch))
    tokens = tf.zeros(tf.stack([batch, capacity + 1]), tf.int32)
    count = tf.zeros([batch], tf.int32)

    def frame_body(t, tokens, count, prediction, state):
        frame = encoder_out[:, t]

        def symbol_body(s, emitting, tokens, count, prediction, state):
            logits = joint(frame, prediction)
            best = tf.argmax(logits, axis=-1, output_type=tf.int32)
            emit = tf.logical_and(emitting, tf.not_equal(best, BLANK_ID))
            column = tf.where(emit, count, capacity)
            tokens = tf.tensor_scatter_nd_update(tokens, tf.stack([rows, column], axis=1),
                                                 tf.where(emit, best, 0))
            count += tf.cast(emit, tf.int32)
            new_prediction, new_state = predictor_step(best, state)
            prediction = _select(emit, new_prediction, prediction)
            state = tf.nest.map_structure(lambda n, o: _select(emit, n, o), new_state, state)
            return s + 1, emit, tokens, count, prediction, state

        _, _, tokens, count, prediction, state = tf.while_loop(
            lambda s, emitting, *_: tf.logical_and(s < max_symbols_per_frame,
                                                   tf.reduce_any(emitting)),
            symbol_body, (tf.constant(0), t < encoder_length, tokens, count, prediction, state))
        return t + 1, tokens, count, prediction, state

    _, tokens, count, _, _ = tf.while_loop(lambda t, *_: t < frames, frame_body,
                                           (tf.constant(0), tokens, count, prediction, state))
    return tokens[:, :tf.reduce_max(tf.concat([count, [1]], 0))], count
