"""WaveNetBackbone: the conditional WaveNet of van den Oord et al. 2016 as a Keras functional model,
trained with teacher forcing (all T logits in one pass)."""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ConfigError
from zoo.families.synthesis.wavenet.gated_activation import GatedActivation
from zoo.families.synthesis.wavenet.mu_law import mu_law_encode

_POSITIVE = ("num_stacks", "layers_per_stack", "residual_channels", "skip_channels", "num_mel_bins", "hop_length",
             "num_speakers", "speaker_channels")


@keras.saving.register_keras_serializable(package="zoo")
class WaveNetBackbone(keras.Model):
    """{"waveform_classes" i32[B, T], "mel" f32[B, N, num_mel_bins], "speaker_id" i32[B]} -> logits
    f32[B, T, quantization_channels] ("logits"), T = N * hop_length.

    waveform_classes[t] is the mu-law class of the PREVIOUS sample (teacher forcing: the sequence shifted
    right by one, starting with the class of silence; see `teacher_forcing_inputs`), so logits[:, t]
    predict sample t from samples < t, mel frame t // hop_length and the speaker.

    Layers: class embedding (a 1x1 conv of the one-hot input) to residual_channels C, then
    num_stacks x layers_per_stack residual layers with dilation 2^i (i = 0 .. layers_per_stack - 1):
    causal dilated conv to 2C + conditioning -> GatedActivation (tanh * sigmoid) -> 1x1 residual conv
    (added to the layer input) and 1x1 skip conv to skip_channels. The conditioning of each layer is a
    1x1 conv of the log-mel plus a linear map of a shared speaker embedding (global conditioning),
    computed at frame rate and repeated hop_length times (repeat then 1x1 conv equals 1x1 conv then
    repeat, at 1 / hop_length of the cost). Output: sum of skips -> ReLU -> 1x1 conv -> ReLU -> 1x1
    conv to quantization_channels logits.
    """

    def __init__(self, num_stacks=2, layers_per_stack=8, kernel_size=2, residual_channels=32, skip_channels=64,
                 quantization_channels=256, num_mel_bins=80, hop_length=200, num_speakers=1, speaker_channels=16,
                 **kwargs):
        for what, value in [(w, v) for w, v in zip(_POSITIVE, (num_stacks, layers_per_stack, residual_channels,
                                                               skip_channels, num_mel_bins, hop_length,
                                                               num_speakers, speaker_channels))]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"WaveNetBackbone {what} must be a positive int", received=repr(value),
                                  expected="an int >= 1", fix=f"pass {what} as a positive integer")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 2:
            raise ConfigError("WaveNetBackbone kernel_size must be an int >= 2", received=repr(kernel_size),
                              expected="2 (the paper's dilated causal conv)", fix="pass kernel_size=2")
        if isinstance(quantization_channels, bool) or not isinstance(quantization_channels, int) \
                or quantization_channels < 2:
            raise ConfigError("WaveNetBackbone quantization_channels must be an int >= 2",
                              received=repr(quantization_channels), expected="256 (8-bit mu-law)")
        kwargs.setdefault("name", "wavenet_backbone")
        c2 = 2 * residual_channels

        classes = keras.Input(shape=(None,), dtype="int32", name="waveform_classes")
        mel = keras.Input(shape=(None, num_mel_bins), dtype="float32", name="mel")
        speaker_id = keras.Input(shape=(), dtype="int32", name="speaker_id")
        x = keras.layers.Embedding(quantization_channels, residual_channels, name="input_embedding")(classes)
        speaker = keras.layers.Embedding(num_speakers, speaker_channels, name="speaker_embedding")(speaker_id)
        skips = []
        count = num_stacks * layers_per_stack
        for i in range(count):
            p, dilation = f"layer{i}", 2 ** (i % layers_per_stack)
            h = keras.layers.Conv1D(c2, kernel_size, dilation_rate=dilation, padding="causal",
                                    name=f"{p}_dilated")(x)
            cond = keras.layers.Conv1D(c2, 1, use_bias=False, name=f"{p}_mel")(mel)
            spk = keras.layers.Dense(c2, use_bias=False, name=f"{p}_speaker")(speaker)
            spk = keras.layers.Reshape((1, c2), name=f"{p}_speaker_frames")(spk)
            cond = keras.layers.Add(name=f"{p}_cond")([cond, spk])
            cond = keras.layers.UpSampling1D(hop_length, name=f"{p}_cond_up")(cond)
            z = GatedActivation(name=f"{p}_gate")(keras.layers.Add(name=f"{p}_gate_in")([h, cond]))
            skips.append(keras.layers.Conv1D(skip_channels, 1, name=f"{p}_skip")(z))
            if i < count - 1:  # the last layer's residual output would be unused
                res = keras.layers.Conv1D(residual_channels, 1, name=f"{p}_res")(z)
                x = keras.layers.Add(name=f"{p}_res_add")([x, res])
        s = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
        s = keras.layers.ReLU(name="skip_relu")(s)
        s = keras.layers.Conv1D(skip_channels, 1, activation="relu", name="post")(s)
        logits = keras.layers.Conv1D(quantization_channels, 1, name="logits")(s)
        super().__init__(inputs={"waveform_classes": classes, "mel": mel, "speaker_id": speaker_id},
                         outputs={"logits": logits}, **kwargs)

        self.num_stacks = num_stacks
        self.layers_per_stack = layers_per_stack
        self.kernel_size = kernel_size
        self.residual_channels = residual_channels
        self.skip_channels = skip_channels
        self.quantization_channels = quantization_channels
        self.num_mel_bins = num_mel_bins
        self.hop_length = hop_length
        self.num_speakers = num_speakers
        self.speaker_channels = speaker_channels

    @property
    def num_layers(self) -> int:
        return self.num_stacks * self.layers_per_stack

    @property
    def receptive_field(self) -> int:
        """Samples one logit sees: 1 + num_stacks (kernel_size - 1)(2^layers_per_stack - 1)."""
        return 1 + self.num_stacks * (self.kernel_size - 1) * (2 ** self.layers_per_stack - 1)

    @property
    def start_class(self) -> int:
        """The class fed before the first sample (mu-law silence)."""
        return int(mu_law_encode(np.zeros(1), self.quantization_channels)[0])

    def teacher_forcing_inputs(self, classes, previous=None):
        """i32[B, T] sample classes -> the "waveform_classes" input: shifted right by one, starting with
        `previous` (i32[B], the class before the crop) or start_class."""
        c = np.asarray(classes, dtype=np.int32)
        first = np.full(c.shape[:-1] + (1,), self.start_class, np.int32) if previous is None else \
            np.asarray(previous, np.int32).reshape(c.shape[:-1] + (1,))
        return np.concatenate([first, c[..., :-1]], axis=-1)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_stacks": self.num_stacks,
            "layers_per_stack": self.layers_per_stack,
            "kernel_size": self.kernel_size,
            "residual_channels": self.residual_channels,
            "skip_channels": self.skip_channels,
            "quantization_channels": self.quantization_channels,
            "num_mel_bins": self.num_mel_bins,
            "hop_length": self.hop_length,
            "num_speakers": self.num_speakers,
            "speaker_channels": self.speaker_channels,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
