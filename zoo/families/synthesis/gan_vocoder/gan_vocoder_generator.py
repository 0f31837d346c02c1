"""GanVocoderGenerator: log-mel f32[B, N, 80] ("mel") -> waveform f32[B, N * prod(upsample_rates)] ("waveform").

MelGAN / HiFi-GAN layout, sized for one CPU thread: a conv pre-net on the mel frames, then one stage
per upsample rate of nearest-neighbour upsampling + conv (no transposed conv: no checkerboard
artefacts, and it converts to plain TFLite builtins) followed by a residual stack of dilated convs
(MelGAN's stack; HiFi-GAN's MRF with one kernel size), and a tanh conv to one channel. All convs are
"same" padded, so N frames give exactly N * hop samples for any N (the synthesis mel contract:
frame n is centred on sample n * hop + hop / 2).
"""

from __future__ import annotations

import math

import keras

from zoo.errors import ConfigError
from zoo.families.synthesis.gan_vocoder._checks import int_list, positive_int


@keras.saving.register_keras_serializable(package="zoo")
class GanVocoderGenerator(keras.Model):
    """Mel f32[B, N, num_mel_bins] -> waveform f32[B, N * hop_length] in [-1, 1].

    Args:
        num_mel_bins: mel bands of the input (TTS_MEL: 80).
        upsample_rates: one stage per rate; their product is hop_length (TTS_MEL: 200 = 5*5*4*2).
        pre_channels: channels of the pre-net conv on the mel frames.
        upsample_channels: output channels of each stage (one per rate).
        upsample_kernel_sizes: kernel of each stage's conv after the nearest-neighbour upsampling
            (>= rate + 1 so every output sample mixes neighbouring frames).
        residual_dilations: dilations of the residual units after every stage (MelGAN: 1, 3, 9).
        residual_kernel_size: kernel of the dilated conv in each residual unit.
        pre_kernel_size, post_kernel_size: kernels of the pre-net and the output conv.
        negative_slope: LeakyReLU slope.
    """

    def __init__(self, num_mel_bins=80, upsample_rates=(5, 5, 4, 2), pre_channels=128,
                 upsample_channels=(64, 32, 16, 8), upsample_kernel_sizes=(11, 11, 9, 5),
                 residual_dilations=(1, 3, 9), residual_kernel_size=3, pre_kernel_size=7, post_kernel_size=7,
                 negative_slope=0.2, **kwargs):
        owner = type(self).__name__
        num_mel_bins = positive_int(owner, "num_mel_bins", num_mel_bins)
        upsample_rates = int_list(owner, "upsample_rates", upsample_rates)
        n = len(upsample_rates)
        pre_channels = positive_int(owner, "pre_channels", pre_channels)
        upsample_channels = int_list(owner, "upsample_channels", upsample_channels, length=n)
        upsample_kernel_sizes = int_list(owner, "upsample_kernel_sizes", upsample_kernel_sizes, length=n)
        residual_dilations = int_list(owner, "residual_dilations", residual_dilations)
        residual_kernel_size = positive_int(owner, "residual_kernel_size", residual_kernel_size)
        pre_kernel_size = positive_int(owner, "pre_kernel_size", pre_kernel_size)
        post_kernel_size = positive_int(owner, "post_kernel_size", post_kernel_size)
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or \
                not 0 <= negative_slope < 1:
            raise ConfigError(f"{owner}: negative_slope must be in [0, 1)", received=repr(negative_slope),
                              expected="0 <= negative_slope < 1", fix="pass negative_slope=0.2")
        kwargs.setdefault("name", "gan_vocoder_generator")

        def act(x, name):
            return keras.layers.LeakyReLU(negative_slope, name=name)(x)

        mel = keras.Input(shape=(None, num_mel_bins), dtype="float32", name="mel")
        x = keras.layers.Conv1D(pre_channels, pre_kernel_size, padding="same", name="pre_conv")(mel)
        for s, (rate, channels, kernel) in enumerate(zip(upsample_rates, upsample_channels, upsample_kernel_sizes)):
            x = act(x, f"up{s}_act")
            x = keras.layers.UpSampling1D(rate, name=f"up{s}_repeat")(x)
            x = keras.layers.Conv1D(channels, kernel, padding="same", name=f"up{s}_conv")(x)
            for d in residual_dilations:
                h = act(x, f"up{s}_res{d}_act1")
                h = keras.layers.Conv1D(channels, residual_kernel_size, dilation_rate=d, padding="same",
                                        name=f"up{s}_res{d}_dilated")(h)
                h = act(h, f"up{s}_res{d}_act2")
                h = keras.layers.Conv1D(channels, 1, name=f"up{s}_res{d}_pointwise")(h)
                x = keras.layers.Add(name=f"up{s}_res{d}_add")([x, h])
        x = act(x, "post_act")
        x = keras.layers.Conv1D(1, post_kernel_size, padding="same", activation="tanh", name="post_conv")(x)
        waveform = keras.layers.Reshape((-1,), name="waveform")(x)
        super().__init__(inputs=mel, outputs=waveform, **kwargs)
        self.num_mel_bins = num_mel_bins
        self.upsample_rates = upsample_rates
        self.pre_channels = pre_channels
        self.upsample_channels = upsample_channels
        self.upsample_kernel_sizes = upsample_kernel_sizes
        self.residual_dilations = residual_dilations
        self.residual_kernel_size = residual_kernel_size
        self.pre_kernel_size = pre_kernel_size
        self.post_kernel_size = post_kernel_size
        self.negative_slope = float(negative_slope)

    @property
    def hop_length(self) -> int:
        """Output samples per mel frame (the product of upsample_rates)."""
        return math.prod(self.upsample_rates)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "num_mel_bins": self.num_mel_bins,
                "upsample_rates": self.upsample_rates, "pre_channels": self.pre_channels,
                "upsample_channels": self.upsample_channels, "upsample_kernel_sizes": self.upsample_kernel_sizes,
                "residual_dilations": self.residual_dilations, "residual_kernel_size": self.residual_kernel_size,
                "pre_kernel_size": self.pre_kernel_size, "post_kernel_size": self.post_kernel_size,
                "negative_slope": self.negative_slope}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
