"""MultiScaleDiscriminator (MelGAN, Kumar et al. 2019): strided 1-D conv critics on the waveform at
1x, 2x, 4x ... average-pooled rates; each returns its feature maps for the feature-matching loss."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.families.synthesis.gan_vocoder._checks import int_list, positive_int


@keras.saving.register_keras_serializable(package="zoo")
class MultiScaleDiscriminator(keras.layers.Layer):
    """Waveform f32[B, T] -> list (one per scale) of lists of feature maps f32[B, T_l, C_l]; the last
    map of each scale is its score map [B, T_s, 1] (no activation: least-squares GAN targets 0 / 1).

    Args:
        num_scales: critics; scale k sees the waveform average-pooled k times by 2 (kernel 4, as MelGAN).
        channels: channels of the first conv; each strided conv multiplies them by its stride
            factor, capped at max_channels.
        max_channels: channel cap.
        downsample_factors: stride of each strided conv (MelGAN: 4, 4, 4, 4).
        strided_kernel_size: kernel of the strided convs (MelGAN: 41 = 10 * stride + 1; smaller is
            cheaper on a CPU).
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, num_scales=3, channels=16, max_channels=256, downsample_factors=(4, 4, 4),
                 strided_kernel_size=21, negative_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_scales = positive_int(owner, "num_scales", num_scales)
        self.channels = positive_int(owner, "channels", channels)
        self.max_channels = positive_int(owner, "max_channels", max_channels)
        self.downsample_factors = int_list(owner, "downsample_factors", downsample_factors)
        self.strided_kernel_size = positive_int(owner, "strided_kernel_size", strided_kernel_size)
        self.negative_slope = float(negative_slope)
        self.critics = []
        for s in range(self.num_scales):
            layers = [keras.layers.Conv1D(self.channels, 15, padding="same", name=f"scale{s}_conv0")]
            c = self.channels
            for i, f in enumerate(self.downsample_factors):
                c = min(c * f, self.max_channels)
                layers.append(keras.layers.Conv1D(c, self.strided_kernel_size, strides=f, padding="same", name=f"scale{s}_conv{i + 1}"))
            layers.append(keras.layers.Conv1D(c, 5, padding="same", name=f"scale{s}_conv_last"))
            layers.append(keras.layers.Conv1D(1, 3, padding="same", name=f"scale{s}_score"))
            self.critics.append(layers)
        self.pool = keras.layers.AveragePooling1D(4, strides=2, padding="same", name="pool")

    def build(self, input_shape):
        for layers in self.critics:
            shape = (None, None, 1)
            for layer in layers:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, waveform):
        x = tf.expand_dims(tf.cast(waveform, tf.float32), -1)
        out = []
        for s, layers in enumerate(self.critics):
            if s:
                x = self.pool(x)
            h, feats = x, []
            for i, layer in enumerate(layers):
                h = layer(h)
                if i < len(layers) - 1:
                    h = tf.nn.leaky_relu(h, self.negative_slope)
                feats.append(h)
            out.append(feats)
        return out

    def get_config(self):
        config = super().get_config()
        config.update({"num_scales": self.num_scales, "channels": self.channels, "max_channels": self.max_channels,
                       "downsample_factors": self.downsample_factors,
                       "strided_kernel_size": self.strided_kernel_size, "negative_slope": self.negative_slope})
        return config
