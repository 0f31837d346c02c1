"""Spleeter-style U-Net masks on the STFT magnitude (Jansson et al. 2017; Hennequin et al. 2020)."""

from __future__ import annotations

import keras

from zoo.blocks.log_magnitude import LogMagnitude
from zoo.errors import ConfigError
from zoo.families.separation.unet_mask.crop_to_reference import CropToReference
from zoo.families.separation.unet_mask.masked_inverse_stft import MaskedInverseSTFT
from zoo.families.separation.unet_mask.pad_to_multiple import PadToMultiple
from zoo.frontends.stft import STFT

MASK_ACTIVATIONS = ("softmax", "sigmoid")


@keras.saving.register_keras_serializable(package="zoo")
class UNetMaskBackbone(keras.Model):
    """Mixture f32[B, T'] ("mixture") -> sources f32[B, S, T'] ("sources").

    Hann STFT (frame_length / frame_step, fft_length = frame_length) -> log magnitude -> per-bin
    batch norm -> the [frames, bins] image zero-padded to a multiple of 2 ** depth -> encoder of
    `depth` 5x5 stride-2 convolutions (filters base_filters * 2 ** i, batch norm, leaky ReLU 0.2)
    -> decoder of stride-2 transposed convolutions (batch norm, ReLU, dropout on the first three,
    concatenated with the encoder output of the same size) -> a last transposed convolution to S
    channels, cropped back to [frames, bins] -> masks (softmax across sources, so the estimates
    sum to the mixture, or an independent sigmoid per source) -> each mask times the mixture STFT
    -> inverse STFT (weighted overlap-add). Spleeter trains one U-Net per stem; here one U-Net
    predicts all S masks (a CPU-sized model).

    Args:
        num_sources: S.
        frame_length: STFT window and size (a power of two for the RFFT kernel), multiple of frame_step.
        frame_step: hop in samples.
        base_filters: filters of the first encoder layer (doubled per layer).
        depth: encoder layers (each halves frames and bins).
        kernel_size: square kernel of every (transposed) convolution.
        dropout: rate in the first three decoder layers (training only).
        mask_activation: "softmax" or "sigmoid".
        log_floor: added to the power before the log (keeps silence finite).
    """

    def __init__(self, num_sources=4, frame_length=1024, frame_step=256, base_filters=16, depth=5, kernel_size=5,
                 dropout=0.0, mask_activation="softmax", log_floor=1e-6, **kwargs):
        for what, value in (("num_sources", num_sources), ("frame_length", frame_length), ("frame_step", frame_step),
                            ("base_filters", base_filters), ("depth", depth), ("kernel_size", kernel_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"UNetMaskBackbone {what} must be a positive int", received=value,
                                  fix=f"pass an int, e.g. {what}=4")
        if frame_length % frame_step or frame_length & (frame_length - 1):
            raise ConfigError("UNetMaskBackbone frame_length must be a power of two and a multiple of frame_step",
                              received=(frame_length, frame_step), expected="e.g. 1024 and 256")
        if mask_activation not in MASK_ACTIVATIONS:
            raise ConfigError("UNetMaskBackbone mask_activation is unknown", received=mask_activation,
                              expected=list(MASK_ACTIVATIONS), fix='pass mask_activation="softmax"')
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("UNetMaskBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "unet_mask_backbone")
        mixture = keras.Input(shape=(None,), dtype="float32", name="mixture")
        spectrum = STFT(frame_length, frame_step, frame_length, window="hann", output="complex",
                        name="stft")(mixture)  # [B, F, K, 2]
        log_mag = LogMagnitude(floor=log_floor, name="log_magnitude")(
            keras.layers.Permute((1, 3, 2), name="real_imag_first")(spectrum))  # [B, F, K]
        x = keras.layers.BatchNormalization(axis=-1, name="input_norm")(log_mag)
        x = keras.layers.Reshape((-1, frame_length // 2 + 1, 1), name="image")(x)
        x = PadToMultiple(2 ** depth, name="pad")(x)
        skips = []
        for i in range(depth):
            x = keras.layers.Conv2D(base_filters * 2 ** i, kernel_size, strides=2, padding="same", name=f"enc{i}")(x)
            x = keras.layers.BatchNormalization(name=f"enc{i}_norm")(x)
            x = keras.layers.LeakyReLU(0.2, name=f"enc{i}_act")(x)
            skips.append(x)
        for i in reversed(range(1, depth)):
            x = keras.layers.Conv2DTranspose(base_filters * 2 ** (i - 1), kernel_size, strides=2, padding="same",
                                             name=f"dec{i}")(x)
            x = keras.layers.BatchNormalization(name=f"dec{i}_norm")(x)
            x = keras.layers.ReLU(name=f"dec{i}_act")(x)
            if depth - i <= 3 and dropout > 0:
                x = keras.layers.Dropout(float(dropout), name=f"dec{i}_dropout")(x)
            x = keras.layers.Concatenate(name=f"dec{i}_skip")([x, skips[i - 1]])
        x = keras.layers.Conv2DTranspose(num_sources, kernel_size, strides=2, padding="same", name="mask_logits")(x)
        x = CropToReference(name="crop")(x, log_mag)  # [B, F, K, S]
        masks = keras.layers.Activation(mask_activation, name="masks")(x)
        masks = keras.layers.Permute((3, 1, 2), name="masks_sources_first")(masks)  # [B, S, F, K]
        sources = MaskedInverseSTFT(frame_length, frame_step, frame_length, name="sources")(spectrum, masks)
        super().__init__(inputs=mixture, outputs=sources, **kwargs)
        self.num_sources = num_sources
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.base_filters = base_filters
        self.depth = depth
        self.kernel_size = kernel_size
        self.dropout = float(dropout)
        self.mask_activation = mask_activation
        self.log_floor = float(log_floor)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "num_sources": self.num_sources,
                "frame_length": self.frame_length, "frame_step": self.frame_step, "base_filters": self.base_filters,
                "depth": self.depth, "kernel_size": self.kernel_size, "dropout": self.dropout,
                "mask_activation": self.mask_activation, "log_floor": self.log_floor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
