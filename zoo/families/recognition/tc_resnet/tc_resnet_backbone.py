"""TC-ResNet keyword-spotting backbone (Choi et al. 2019, Interspeech, arXiv:1904.03814)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError


@keras.saving.register_keras_serializable(package="zoo")
class TCResNetBackbone(keras.Model):
    """Features as channels, 1-D convs over time with residual blocks, global average pooling.

    A first conv (first_kernel_size) then one stage per entry of stage_filters; each stage has
    blocks_per_stage residual blocks, the first with stride 2. A block is conv(k, stride) -> BN ->
    ReLU -> conv(k) -> BN, plus the input (through a 1x1 conv -> BN -> ReLU when the stride or width
    changes), then ReLU. Convs have no bias. TC-ResNet8: blocks_per_stage=1; TC-ResNet14: 2.

    Args:
        num_frames, num_features: input feature map size (input "features" [B, frames, features]).
        first_filters, stage_filters: channels before width_multiplier ([16] and [24, 32, 48] in the paper).
        blocks_per_stage: residual blocks per stage.
        kernel_size, first_kernel_size: temporal kernel sizes (9 and 3 in the paper).
        width_multiplier: scales every channel count (the paper's k; 1.5 gives TC-ResNet8-1.5).
        dropout: dropout after the first conv (training only).
    Output: embedding [B, stage_filters[-1] * width_multiplier].
    """

    def __init__(self, num_frames, num_features, first_filters=16, stage_filters=(24, 32, 48), blocks_per_stage=1,
                 kernel_size=9, first_kernel_size=3, width_multiplier=1.0, dropout=0.0, **kwargs):
        for what, value in (("num_frames", num_frames), ("num_features", num_features),
                            ("first_filters", first_filters), ("blocks_per_stage", blocks_per_stage),
                            ("kernel_size", kernel_size), ("first_kernel_size", first_kernel_size)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"TCResNetBackbone {what} must be a positive int", received=value)
        stage_filters = list(stage_filters)
        if not all(isinstance(f, int) and f >= 1 for f in stage_filters):
            raise ConfigError("TCResNetBackbone stage_filters must be a list of positive ints",
                              received=stage_filters, expected="e.g. [24, 32, 48]")
        if not float(width_multiplier) > 0:
            raise ConfigError("TCResNetBackbone width_multiplier must be > 0", received=width_multiplier)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError("TCResNetBackbone dropout must be in [0, 1)", received=dropout)
        kwargs.setdefault("name", "tc_resnet_backbone")

        def width(c):
            return max(1, int(round(c * float(width_multiplier))))

        L = keras.layers
        features = keras.Input(shape=(num_frames, num_features), dtype="float32", name="features")
        x = L.Conv1D(width(first_filters), first_kernel_size, padding="same", use_bias=False, name="conv0")(features)
        x = L.BatchNormalization(name="conv0_bn")(x)
        x = L.ReLU(name="conv0_relu")(x)
        x = L.Dropout(float(dropout), name="conv0_dropout")(x)
        channels = width(first_filters)
        for s, filters in enumerate(stage_filters, start=1):
            out = width(filters)
            for b in range(1, blocks_per_stage + 1):
                stride = 2 if b == 1 else 1
                p = f"stage{s}_block{b}"
                y = L.Conv1D(out, kernel_size, strides=stride, padding="same", use_bias=False, name=f"{p}_conv1")(x)
                y = L.BatchNormalization(name=f"{p}_bn1")(y)
                y = L.ReLU(name=f"{p}_relu1")(y)
                y = L.Conv1D(out, kernel_size, padding="same", use_bias=False, name=f"{p}_conv2")(y)
                y = L.BatchNormalization(name=f"{p}_bn2")(y)
                shortcut = x
                if stride != 1 or channels != out:
                    shortcut = L.Conv1D(out, 1, strides=stride, use_bias=False, name=f"{p}_shortcut")(x)
                    shortcut = L.BatchNormalization(name=f"{p}_shortcut_bn")(shortcut)
                    shortcut = L.ReLU(name=f"{p}_shortcut_relu")(shortcut)
                x = L.Add(name=f"{p}_add")([y, shortcut])
                x = L.ReLU(name=f"{p}_out")(x)
                channels = out
        embedding = L.GlobalAveragePooling1D(name="embedding")(x)
        super().__init__(inputs=features, outputs=embedding, **kwargs)

        self.num_frames = num_frames
        self.num_features = num_features
        self.first_filters = first_filters
        self.stage_filters = stage_filters
        self.blocks_per_stage = blocks_per_stage
        self.kernel_size = kernel_size
        self.first_kernel_size = first_kernel_size
        self.width_multiplier = float(width_multiplier)
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_frames": self.num_frames,
            "num_features": self.num_features,
            "first_filters": self.first_filters,
            "stage_filters": list(self.stage_filters),
            "blocks_per_stage": self.blocks_per_stage,
            "kernel_size": self.kernel_size,
            "first_kernel_size": self.first_kernel_size,
            "width_multiplier": self.width_multiplier,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
