"""NoteDecoder: latent [B, latent_dim] -> normalized log-mel [B, frames, mels]."""

from __future__ import annotations

import keras

from zoo.families.synthesis.note_vae._checks import check_divisible, int_list, positive_int


@keras.saving.register_keras_serializable(package="zoo")
class NoteDecoder(keras.layers.Layer):
    """Dense to a [frames / 2^L, mels / 2^L, channels[-1]] grid, then L transposed 3x3 convolutions
    (each doubles both axes, channels in reverse order) and a linear 3x3 convolution to one map:
    the mean of the Gaussian likelihood of the normalized log-mel.

    Args: as NoteEncoder (channels are the encoder's, reversed here).
    """

    def __init__(self, num_frames=64, num_mel_bins=64, latent_dim=32, channels=(32, 64, 128, 128), **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_frames = positive_int(owner, "num_frames", num_frames)
        self.num_mel_bins = positive_int(owner, "num_mel_bins", num_mel_bins)
        self.latent_dim = positive_int(owner, "latent_dim", latent_dim)
        self.channels = int_list(owner, "channels", channels)
        check_divisible(owner, self.num_frames, self.num_mel_bins, len(self.channels))
        factor = 2 ** len(self.channels)
        self.grid = (self.num_frames // factor, self.num_mel_bins // factor, self.channels[-1])
        self.project = keras.layers.Dense(self.grid[0] * self.grid[1] * self.grid[2], name="project")
        self.reshape = keras.layers.Reshape(self.grid, name="grid")
        self.upsamplers = [keras.layers.Conv2DTranspose(c, 3, strides=2, padding="same", name=f"up{i}")
                           for i, c in enumerate(reversed(self.channels))]
        self.out = keras.layers.Conv2D(1, 3, padding="same", name="out")

    def build(self, input_shape=None):
        self.project.build((None, self.latent_dim))
        shape = (None, *self.grid)
        for up in self.upsamplers:
            up.build(shape)
            shape = up.compute_output_shape(shape)
        self.out.build(shape)
        self.built = True

    def call(self, z):
        x = self.reshape(keras.ops.leaky_relu(self.project(keras.ops.cast(z, "float32")), 0.2))
        for up in self.upsamplers:
            x = keras.ops.leaky_relu(up(x), 0.2)
        return keras.ops.squeeze(self.out(x), -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(num_frames=self.num_frames, num_mel_bins=self.num_mel_bins, latent_dim=self.latent_dim,
                      channels=self.channels)
        return config
