"""Audio frontends as Keras 3 layers (DESIGN.md section 4): waveform [B, T] float32 in [-1, 1] ->
features [B, frames, features]. Core TF ops only; each converts to TFLite with builtin ops.

Frames are never centred: frames = 1 + (T - frame_length) // frame_step.
"""

from zoo.frontends.constant_q import ConstantQ
from zoo.frontends.inverse_stft import InverseSTFT
from zoo.frontends.learnable_filterbank import LearnableFilterbank
from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram
from zoo.frontends.mfcc import MFCC
from zoo.frontends.pcen import PCEN
from zoo.frontends.registry import FRONTENDS, build_frontend
from zoo.frontends.sinc_conv import SincConv
from zoo.frontends.spec_augment import SpecAugment
from zoo.frontends.stft import STFT

__all__ = [
    "FRONTENDS",
    "ConstantQ",
    "InverseSTFT",
    "LearnableFilterbank",
    "LogMelSpectrogram",
    "MFCC",
    "PCEN",
    "STFT",
    "SincConv",
    "SpecAugment",
    "build_frontend",
]
