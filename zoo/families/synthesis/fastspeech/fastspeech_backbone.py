"""FastSpeechBackbone: a non-autoregressive acoustic model, phoneme ids -> log-mel frames (Ren et al. 2019).

Encoder: phoneme embedding + residual dilated 1-D conv blocks (the convolutional FastSpeech of
SpeedySpeech / FastPitch-conv: pre-LayerNorm, ReLU conv, dropout, residual; no self-attention,
which converges slower and costs more on a CPU). Duration predictor: two conv layers and a linear
layer predicting log(1 + frames) per phoneme (FastSpeech's MSE in the log domain). Length
regulator (zoo.blocks.LengthRegulator): each encoding repeated for its duration - the durations of
the corpus (from the synthesizer's timings) during training, the rounded predictions at inference.
Decoder: residual dilated conv blocks over frames and a linear layer to the mel bins; its bias
starts at the corpus's mean log-mel, so training starts from the average spectrum.

Padding: phoneme id 0 and frames past a row's length are zeroed after every block, so a row's
output does not depend on what else is in its batch.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.blocks.length_regulator import LengthRegulator
from zoo.blocks.residual_conv_block import ResidualConvBlock
from zoo.errors import ConfigError


def _int_list(owner, name, value):
    if not isinstance(value, (list, tuple)) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        raise ConfigError(f"{owner}: {name} must be a non-empty list of positive ints", received=repr(value),
                          fix=f"e.g. {name}=[1, 2, 4]")
    return [int(v) for v in value]


@keras.saving.register_keras_serializable(package="zoo")
class FastSpeechBackbone(keras.layers.Layer):
    """{"token_ids": i32[B, L], "durations": i32[B, L] (optional)} -> {"mel": f32[B, N, num_mel_bins],
    "mel_length": i32[B], "log_durations": f32[B, L] (predicted), "durations": i32[B, L] (used)}.

    Args:
        vocabulary_size: phoneme ids (0 = padding).
        num_mel_bins: output bins. channels: width of every block.
        encoder_dilations, decoder_dilations: one block per entry. kernel_size: of every block.
        duration_channels: width of the duration predictor. dropout: in every block.
        mel_mean: initial decoder bias (the corpus's mean log-mel).
        max_frames_per_token: cap on a predicted duration (a 50-frame phoneme is 0.6 s).
        length_scale: multiplies predicted durations (> 1 speaks slower).
    """

    def __init__(self, vocabulary_size, num_mel_bins=80, channels=192, kernel_size=5,
                 encoder_dilations=(1, 2, 4, 1), decoder_dilations=(1, 2, 4, 8, 1, 2), duration_channels=128,
                 dropout=0.1, mel_mean=-6.0, max_frames_per_token=50, length_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        for name, value in (("vocabulary_size", vocabulary_size), ("num_mel_bins", num_mel_bins),
                            ("channels", channels), ("kernel_size", kernel_size),
                            ("duration_channels", duration_channels),
                            ("max_frames_per_token", max_frames_per_token)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{owner}: {name} must be a positive int", received=repr(value))
        if not (isinstance(length_scale, (int, float)) and 0.25 <= float(length_scale) <= 4.0):
            raise ConfigError(f"{owner}: length_scale out of range", received=repr(length_scale),
                              expected="0.25 <= length_scale <= 4", fix="pass 1.0 for the trained speaking rate")
        self.vocabulary_size, self.num_mel_bins, self.channels = vocabulary_size, num_mel_bins, channels
        self.kernel_size, self.duration_channels, self.dropout = kernel_size, duration_channels, float(dropout)
        self.encoder_dilations = _int_list(owner, "encoder_dilations", encoder_dilations)
        self.decoder_dilations = _int_list(owner, "decoder_dilations", decoder_dilations)
        self.mel_mean, self.max_frames_per_token = float(mel_mean), max_frames_per_token
        self.length_scale = float(length_scale)
        self.embedding = keras.layers.Embedding(vocabulary_size, channels, name="phoneme_embedding")
        self.encoder = [ResidualConvBlock(channels, kernel_size, d, dropout, name=f"encoder_{i}")
                        for i, d in enumerate(self.encoder_dilations)]
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")
        self.duration_convs = [keras.layers.Conv1D(duration_channels, 3, padding="same", name=f"duration_conv_{i}")
                               for i in range(2)]
        self.duration_norms = [keras.layers.LayerNormalization(epsilon=1e-5, name=f"duration_norm_{i}")
                               for i in range(2)]
        self.duration_drop = keras.layers.Dropout(dropout, name="duration_dropout")
        self.duration_out = keras.layers.Dense(1, name="duration_out")
        self.regulator = LengthRegulator(name="length_regulator")
        self.decoder = [ResidualConvBlock(channels, kernel_size, d, dropout, name=f"decoder_{i}")
                        for i, d in enumerate(self.decoder_dilations)]
        self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")
        self.mel_out = keras.layers.Dense(num_mel_bins, bias_initializer=keras.initializers.Constant(self.mel_mean),
                                          name="mel_out")

    def build(self, input_shape=None):
        width = (None, None, self.channels)
        self.embedding.build((None, None))
        for block in self.encoder + self.decoder:
            block.build(width)
        self.encoder_norm.build(width)
        self.decoder_norm.build(width)
        shape = width
        for conv, norm in zip(self.duration_convs, self.duration_norms):
            conv.build(shape)
            shape = (None, None, self.duration_channels)
            norm.build(shape)
        self.duration_out.build(shape)
        self.mel_out.build(width)
        self.built = True

    def predict_durations(self, log_durations, token_mask):
        """Rounded frames per token from log(1 + frames), scaled by length_scale, 0 on padding."""
        frames = tf.round((tf.exp(log_durations) - 1.0) * self.length_scale)
        frames = tf.clip_by_value(frames, 0.0, float(self.max_frames_per_token))
        return tf.cast(frames * token_mask, tf.int32)

    def call(self, inputs, training=None):
        token_ids = tf.cast(inputs["token_ids"], tf.int32)
        token_mask = tf.cast(token_ids > 0, self.compute_dtype)
        mask = token_mask[:, :, None]
        x = self.embedding(token_ids) * mask
        for block in self.encoder:
            x = block(x, mask, training=training)
        x = self.encoder_norm(x) * mask
        h = x
        for conv, norm in zip(self.duration_convs, self.duration_norms):
            # masked: padding's nonzero activations reached the last tokens' durations through the
            # next conv, so a row's length changed with the longest row of its batch
            h = self.duration_drop(norm(tf.nn.relu(conv(h))), training=training) * mask
        log_durations = self.duration_out(h)[:, :, 0] * token_mask
        durations = inputs.get("durations")
        if durations is None:
            durations = self.predict_durations(log_durations, token_mask)
        else:
            durations = tf.cast(durations, tf.int32) * tf.cast(token_ids > 0, tf.int32)
        frames, mel_length = self.regulator(x, durations)
        frame_mask = tf.cast(tf.range(tf.shape(frames)[1])[None, :] < mel_length[:, None], self.compute_dtype)
        frame_mask = frame_mask[:, :, None]
        y = frames
        for block in self.decoder:
            y = block(y, frame_mask, training=training)
        mel = self.mel_out(self.decoder_norm(y))
        return {"mel": mel, "mel_length": mel_length, "log_durations": log_durations, "durations": durations}

    def compute_output_spec(self, inputs, training=None):
        ids = inputs["token_ids"]
        b = ids.shape[0]
        return {"mel": keras.KerasTensor((b, None, self.num_mel_bins), dtype=self.compute_dtype),
                "mel_length": keras.KerasTensor((b,), dtype="int32"),
                "log_durations": keras.KerasTensor((b, ids.shape[1]), dtype=self.compute_dtype),
                "durations": keras.KerasTensor((b, ids.shape[1]), dtype="int32")}

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "num_mel_bins": self.num_mel_bins,
                "channels": self.channels, "kernel_size": self.kernel_size,
                "encoder_dilations": list(self.encoder_dilations), "decoder_dilations": list(self.decoder_dilations),
                "duration_channels": self.duration_channels, "dropout": self.dropout, "mel_mean": self.mel_mean,
                "max_frames_per_token": self.max_frames_per_token, "length_scale": self.length_scale}
