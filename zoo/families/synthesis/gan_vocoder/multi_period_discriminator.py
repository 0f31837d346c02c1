"""MultiPeriodDiscriminator (HiFi-GAN, Kong et al. 2020): the waveform folded into [T / p, p] for
several prime periods p, each judged by (k x 1) 2-D convs, so every critic sees one phase of a
periodic structure; each returns its feature maps for the feature-matching loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.families.synthesis.gan_vocoder._checks import int_list


@keras.saving.register_keras_serializable(package="zoo")
class MultiPeriodDiscriminator(keras.layers.Layer):
    """Waveform f32[B, T] -> list (one per period) of lists of feature maps f32[B, T_l, p, C_l]; the
    last map of each period is its score map [B, T_s, p, 1] (no activation: least-squares GAN).

    The waveform is zero-padded at the end to a multiple of p (HiFi-GAN pads by reflection; zeros
    keep it valid for any T).

    Args:
        periods: one critic per period (HiFi-GAN: 2, 3, 5, 7, 11).
        channels: output channels of the strided (5 x 1, stride 3) convs (HiFi-GAN: 32 ... 1024).
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, periods=(2, 3, 5, 7, 11), channels=(16, 32, 64, 128), negative_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.periods = int_list(owner, "periods", periods)
        self.channels = int_list(owner, "channels", channels)
        self.negative_slope = float(negative_slope)
        self.critics = []
        for p in self.periods:
            layers = [keras.layers.Conv2D(c, (5, 1), strides=(3, 1), padding="same", name=f"period{p}_conv{i}")
                      for i, c in enumerate(self.channels)]
            layers.append(keras.layers.Conv2D(self.channels[-1], (5, 1), padding="same", name=f"period{p}_conv_last"))
            layers.append(keras.layers.Conv2D(1, (3, 1), padding="same", name=f"period{p}_score"))
            self.critics.append(layers)

    def build(self, input_shape):
        for p, layers in zip(self.periods, self.critics):
            shape = (None, None, p, 1)
            for layer in layers:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, waveform):
        x = tf.cast(waveform, tf.float32)
        n = tf.shape(x)[1]
        out = []
        for p, layers in zip(self.periods, self.critics):
            h = tf.pad(x, [[0, 0], [0, (-n) % p]])
            h = tf.reshape(h, [tf.shape(h)[0], -1, p, 1])
            feats = []
            for i, layer in enumerate(layers):
                h = layer(h)
                if i < len(layers) - 1:
                    h = tf.nn.leaky_relu(h, self.negative_slope)
                feats.append(h)
            out.append(feats)
        return out

    def get_config(self):
        config = super().get_config()
        config.update({"periods": self.periods, "channels": self.channels, "negative_slope": self.negative_slope})
        return config
