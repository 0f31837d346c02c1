"""Classical enhancement and separation baselines, run beside the zoo's models on the same files.

Single-channel enhancers share one call, `enhance(noisy f32[T], sample_rate) -> f32[T]` (same
length and rate): rnnoise (pyrnnoise's librnnoise, at 48 kHz), spectral_gating (noisereduce),
spectral_subtraction and wiener (pyroomacoustics.denoise). Array separation: bss.separate
(AuxIVA / ILRMA, f32[M, T] -> f32[S, T]) and bss.match_sources. Libraries load on first call.
"""

from __future__ import annotations

ENHANCERS = ("rnnoise", "spectral_gating", "spectral_subtraction", "wiener")


def get_enhancer(name: str):
    """The `enhance` function of baseline `name` (one of ENHANCERS)."""
    import importlib

    from zoo.errors import ConfigError

    if name not in ENHANCERS:
        raise ConfigError("unknown enhancement baseline", received=repr(name), expected=f"one of {list(ENHANCERS)}",
                          fix="pick a name from zoo.baselines.ENHANCERS")
    return importlib.import_module(f"zoo.baselines.{name}").enhance
