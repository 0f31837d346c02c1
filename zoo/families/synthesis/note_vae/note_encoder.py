"""NoteEncoder: normalized log-mel [B, frames, mels] -> posterior mean and log-variance [B, latent_dim]."""

from __future__ import annotations

import keras

from zoo.families.synthesis.note_vae._checks import check_divisible, int_list, positive_int


@keras.saving.register_keras_serializable(package="zoo")
class NoteEncoder(keras.layers.Layer):
    """Strided 3x3 convolutions (each halves frames and mels) -> flatten -> one dense layer that
    outputs the Gaussian posterior's mean and log-variance.

    Args:
        num_frames, num_mel_bins: feature size (each divisible by 2 ** len(channels)).
        latent_dim: latent dimensions.
        channels: output channels of the strided convolutions.
    """

    def __init__(self, num_frames=64, num_mel_bins=64, latent_dim=32, channels=(32, 64, 128, 128), **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_frames = positive_int(owner, "num_frames", num_frames)
        self.num_mel_bins = positive_int(owner, "num_mel_bins", num_mel_bins)
        self.latent_dim = positive_int(owner, "latent_dim", latent_dim)
        self.channels = int_list(owner, "channels", channels)
        check_divisible(owner, self.num_frames, self.num_mel_bins, len(self.channels))
        self.convs = [keras.layers.Conv2D(c, 3, strides=2, padding="same", name=f"conv{i}")
                      for i, c in enumerate(self.channels)]
        self.flatten = keras.layers.Flatten(name="flatten")
        self.posterior = keras.layers.Dense(2 * self.latent_dim, name="posterior")

    def build(self, input_shape=None):
        shape = (None, self.num_frames, self.num_mel_bins, 1)
        for conv in self.convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        self.posterior.build((None, shape[1] * shape[2] * shape[3]))
        self.built = True

    def call(self, features):
        x = keras.ops.expand_dims(keras.ops.cast(features, "float32"), -1)
        for conv in self.convs:
            x = keras.ops.leaky_relu(conv(x), 0.2)
        stats = self.posterior(self.flatten(x))
        return stats[:, :self.latent_dim], stats[:, self.latent_dim:]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.latent_dim), (input_shape[0], self.latent_dim)

    def get_config(self):
        config = super().get_config()
        config.update(num_frames=self.num_frames, num_mel_bins=self.num_mel_bins, latent_dim=self.latent_dim,
                      channels=self.channels)
        return config
