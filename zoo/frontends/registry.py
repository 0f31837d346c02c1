"""Build a frontend layer from its {"class_name": ..., "config": {...}} spec (presets are data)."""

from __future__ import annotations

import keras

from zoo.errors import ConfigError
from zoo.frontends.constant_q import ConstantQ
from zoo.frontends.inverse_stft import InverseSTFT
from zoo.frontends.learnable_filterbank import LearnableFilterbank
from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram
from zoo.frontends.mfcc import MFCC
from zoo.frontends.pcen import PCEN
from zoo.frontends.sinc_conv import SincConv
from zoo.frontends.spec_augment import SpecAugment
from zoo.frontends.stft import STFT

FRONTENDS = {cls.__name__: cls for cls in (
    STFT, InverseSTFT, LogMelSpectrogram, MFCC, ConstantQ, PCEN, SincConv, LearnableFilterbank,
    SpecAugment)}


def build_frontend(spec: dict) -> keras.layers.Layer:
    """Return a new frontend layer from {"class_name": "LogMelSpectrogram", "config": {...}}.

    class_name may also carry Keras' registered prefix ("zoo>LogMelSpectrogram"), so the output of
    keras.saving.serialize_keras_object is accepted too.
    """
    known = sorted(FRONTENDS)
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ConfigError("a frontend spec must be a dict with 'class_name' and 'config'",
                          received=repr(spec)[:200],
                          expected="{'class_name': one of " + ", ".join(known) + ", 'config': {...}}",
                          fix="see zoo.families.recognition.kws_protocol.KWS_LOGMEL for an example")
    name = spec["class_name"]
    short = name.split(">", 1)[1] if isinstance(name, str) and name.startswith("zoo>") else name
    if short not in FRONTENDS:
        raise ConfigError("unknown frontend class_name", received=repr(name),
                          expected="one of " + ", ".join(known),
                          fix="use one of the known class names (case-sensitive)")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"{short} config must be a dict of constructor arguments",
                          received=type(config).__name__, expected="dict")
    cls = FRONTENDS[short]
    try:
        return cls.from_config(dict(config))
    except TypeError as err:  # missing or unexpected constructor arguments
        raise ConfigError(f"{short} config does not match its constructor ({err})",
                          received=sorted(config),
                          expected=f"the arguments of {short}.__init__",
                          fix=f"see help(zoo.frontends.{short})") from err
