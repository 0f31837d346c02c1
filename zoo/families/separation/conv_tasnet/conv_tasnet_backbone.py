"""Conv-TasNet backbone (Luo & Mesgarani 2019, "Conv-TasNet: Surpassing Ideal Time-Frequency
Magnitude Masking for Speech Separation", IEEE/ACM TASLP 27(8), arXiv:1809.07454)."""

from __future__ import annotations

import keras

from zoo.blocks.cumulative_layer_norm import CumulativeLayerNorm
from zoo.blocks.frame_signal import FrameSignal
from zoo.blocks.global_layer_norm import GlobalLayerNorm
from zoo.blocks.overlap_add import OverlapAdd
from zoo.blocks.portable_depthwise_conv import DepthwiseConv1D as PortableDepthwiseConv1D
from zoo.errors import ConfigError


def _norm(causal, name):
    return CumulativeLayerNorm(name=name) if causal else GlobalLayerNorm(name=name)


@keras.saving.register_keras_serializable(package="zoo")
class ConvTasNetBackbone(keras.Model):
    """Waveform f32[B, T'] ("mixture") -> sources f32[B, S, T'] ("sources"), T' = L + k * L / 2.

    Encoder: frames of L samples, hop L / 2, a linear map to N channels + ReLU (the paper's 1-D conv
    with stride L / 2). Separator: norm -> 1x1 conv to B channels -> R repeats of X dilated conv
    blocks (1x1 conv to H, PReLU, norm, depthwise conv of kernel P and dilation 2^x, PReLU, norm,
    1x1 residual conv to B and 1x1 skip conv to Sc) -> PReLU on the summed skips -> 1x1 conv to
    S x N -> sigmoid masks. Decoder: masked encodings -> linear map to L samples -> overlap-add.
    Norm: gLN (non-causal) or cLN with left-only padded depthwise convs (causal).

    Args (the paper's names): num_sources (S), encoder_filters (N), kernel_size (L, even),
    bottleneck_channels (B), hidden_channels (H), skip_channels (Sc), conv_kernel_size (P),
    num_blocks (X), num_repeats (R), causal.
    """

    def __init__(self, num_sources=2, encoder_filters=256, kernel_size=16, bottleneck_channels=128,
                 hidden_channels=256, skip_channels=128, conv_kernel_size=3, num_blocks=8, num_repeats=3,
                 causal=False, **kwargs):
        for what, value in (("num_sources", num_sources), ("encoder_filters", encoder_filters),
                            ("kernel_size", kernel_size), ("bottleneck_channels", bottleneck_channels),
                            ("hidden_channels", hidden_channels), ("skip_channels", skip_channels),
                            ("conv_kernel_size", conv_kernel_size), ("num_blocks", num_blocks),
                            ("num_repeats", num_repeats)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"ConvTasNetBackbone {what} must be a positive int", received=value)
        if kernel_size % 2 or kernel_size < 2:
            raise ConfigError("ConvTasNetBackbone kernel_size must be even (the hop is half of it)",
                              received=kernel_size, expected="e.g. 16 (2 ms at 8 kHz)")
        if conv_kernel_size % 2 == 0 and not causal:
            raise ConfigError("ConvTasNetBackbone conv_kernel_size must be odd for centred (non-causal) convs",
                              received=conv_kernel_size, expected="e.g. 3")
        if not isinstance(causal, bool):
            raise ConfigError("ConvTasNetBackbone causal must be a bool", received=causal)
        kwargs.setdefault("name", "conv_tasnet_backbone")
        hop = kernel_size // 2

        mixture = keras.Input(shape=(None,), dtype="float32", name="mixture")
        frames = FrameSignal(kernel_size, hop, name="encoder_frames")(mixture)
        encoded = keras.layers.Dense(encoder_filters, use_bias=False, activation="relu", name="encoder")(frames)
        x = _norm(causal, "input_norm")(encoded)
        x = keras.layers.Conv1D(bottleneck_channels, 1, name="bottleneck")(x)
        skips = []
        count = num_repeats * num_blocks
        for r in range(num_repeats):
            for b in range(num_blocks):
                i, dilation = r * num_blocks + b, 2 ** b
                p = f"tcn{r}_{b}"
                y = keras.layers.Conv1D(hidden_channels, 1, name=f"{p}_in")(x)
                y = keras.layers.PReLU(shared_axes=[1], name=f"{p}_prelu1")(y)
                y = _norm(causal, f"{p}_norm1")(y)
                total = dilation * (conv_kernel_size - 1)
                pad = (total, 0) if causal else (total // 2, total - total // 2)
                y = keras.layers.ZeroPadding1D(pad, name=f"{p}_pad")(y)
                y = PortableDepthwiseConv1D(conv_kernel_size, dilation_rate=dilation, name=f"{p}_dconv")(y)
                y = keras.layers.PReLU(shared_axes=[1], name=f"{p}_prelu2")(y)
                y = _norm(causal, f"{p}_norm2")(y)
                skips.append(keras.layers.Conv1D(skip_channels, 1, name=f"{p}_skip")(y))
                if i < count - 1:  # the last block's residual output would be unused
                    x = keras.layers.Add(name=f"{p}_res_add")([x, keras.layers.Conv1D(bottleneck_channels, 1,
                                                                                      name=f"{p}_res")(y)])
        s = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
        s = keras.layers.PReLU(shared_axes=[1], name="mask_prelu")(s)
        masks = keras.layers.Conv1D(num_sources * encoder_filters, 1, activation="sigmoid", name="masks")(s)
        masks = keras.layers.Reshape((-1, num_sources, encoder_filters), name="masks_per_source")(masks)
        masks = keras.layers.Permute((2, 1, 3), name="masks_sources_first")(masks)  # [B, S, F, N]
        enc = keras.layers.Reshape((1, -1, encoder_filters), name="encoded_one_source")(encoded)
        masked = keras.layers.Multiply(name="masked")([masks, enc])
        decoded = keras.layers.Dense(kernel_size, use_bias=False, name="decoder")(masked)  # [B, S, F, L]
        sources = OverlapAdd(hop, name="sources")(decoded)
        super().__init__(inputs=mixture, outputs=sources, **kwargs)

        self.num_sources = num_sources
        self.encoder_filters = encoder_filters
        self.kernel_size = kernel_size
        self.bottleneck_channels = bottleneck_channels
        self.hidden_channels = hidden_channels
        self.skip_channels = skip_channels
        self.conv_kernel_size = conv_kernel_size
        self.num_blocks = num_blocks
        self.num_repeats = num_repeats
        self.causal = causal
        self.frame_length = kernel_size
        self.frame_step = hop

    @property
    def receptive_field(self) -> int:
        """Encoder frames seen by one mask frame (1 + R (P - 1)(2^X - 1))."""
        return 1 + self.num_repeats * (self.conv_kernel_size - 1) * (2 ** self.num_blocks - 1)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_sources": self.num_sources,
            "encoder_filters": self.encoder_filters,
            "kernel_size": self.kernel_size,
            "bottleneck_channels": self.bottleneck_channels,
            "hidden_channels": self.hidden_channels,
            "skip_channels": self.skip_channels,
            "conv_kernel_size": self.conv_kernel_size,
            "num_blocks": self.num_blocks,
            "num_repeats": self.num_repeats,
            "causal": self.causal,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
