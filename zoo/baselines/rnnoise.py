"""RNNoise (Valin 2018) through the pyrnnoise wheel's bundled librnnoise, at its native 48 kHz.

The wheel's own wrapper rounds frames to int16; the shared library takes float frames on the
int16 scale, so frames are passed as float32 (no extra quantisation). RNNoise's output lags its
input by two frames (960 samples at 48 kHz: one frame of buffering plus the overlap-add half
window; measured); the lag is removed so the output aligns sample for sample with the input.
"""

from __future__ import annotations

import ctypes

import numpy as np

from zoo.baselines.common import check_mono, finish, run_delayed

SAMPLE_RATE = 48000
SCALE = 32768.0


class _Library:
    """librnnoise from the pyrnnoise wheel, loaded directly: importing pyrnnoise itself would pull
    in its CLI's audio stack (audiolab, PyAV), which the frame calls do not need."""

    _cache = None

    def __init__(self, lib):
        self.lib = lib
        self.FRAME_SIZE = int(lib.rnnoise_get_frame_size())

    def create(self):
        return self.lib.rnnoise_create(None)

    def destroy(self, state):
        self.lib.rnnoise_destroy(state)


def _library() -> _Library:
    import importlib.util
    from pathlib import Path

    from zoo.errors import ConfigError

    if _Library._cache is None:
        spec = importlib.util.find_spec("pyrnnoise")
        path = Path(next(iter(spec.submodule_search_locations))) / "librnnoise.so" if spec else None
        if path is None or not path.exists():
            raise ConfigError("RNNoise is not installed", received="no pyrnnoise package with librnnoise.so",
                              expected="the pyrnnoise wheel (Linux x86_64/aarch64)",
                              fix="pip install pyrnnoise==0.4.5")
        lib = ctypes.CDLL(str(path))
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_get_frame_size.restype = ctypes.c_int
        pointer = ctypes.POINTER(ctypes.c_float)
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, pointer, pointer]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        _Library._cache = _Library(lib)
    return _Library._cache


def _process_48k(x: np.ndarray) -> np.ndarray:
    lib_mod = _library()
    frame = int(lib_mod.FRAME_SIZE)
    n = -(-len(x) // frame) * frame
    buf = np.zeros(n, np.float32)
    buf[: len(x)] = x * SCALE
    out = np.empty(n, np.float32)
    state = lib_mod.create()
    try:
        pointer = ctypes.POINTER(ctypes.c_float)
        for start in range(0, n, frame):
            chunk = np.ascontiguousarray(buf[start : start + frame])
            lib_mod.lib.rnnoise_process_frame(state, chunk.ctypes.data_as(pointer), chunk.ctypes.data_as(pointer))
            out[start : start + frame] = chunk
    finally:
        lib_mod.destroy(state)
    return out[: len(x)] / SCALE


def enhance(noisy, sample_rate) -> np.ndarray:
    """Denoise f32[T] at `sample_rate` with RNNoise; returns f32[T] at the same rate."""
    from zoo.audio import resample

    x, sr = check_mono(noisy, sample_rate)
    x48 = resample(x, sr, SAMPLE_RATE)
    y48 = run_delayed(_process_48k, x48, 2 * int(_library().FRAME_SIZE))
    return finish(resample(y48, SAMPLE_RATE, sr), len(x))
