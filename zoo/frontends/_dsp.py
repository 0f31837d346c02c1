"""Private signal helpers shared by the frontends: validation, windows, framing, overlap-add.

Everything here lowers to TFLite builtins (STRIDED_SLICE, RESHAPE, CONCATENATION, PAD, ADD,
FULLY_CONNECTED): no tf.signal.frame gather tables, no complex tensors.
"""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

from zoo.errors import AudioError, ConfigError

TINY = float(np.finfo(np.float32).tiny)


# ----------------------------------------------------------------------------- validation
def positive_int(owner: str, name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            f"{owner}: {name} must be an integer >= {minimum}",
            received=repr(value),
            expected=f"int >= {minimum}",
            fix=f"pass {name}=<int >= {minimum}>",
        )
    return int(value)


def positive_float(owner: str, name: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(
            f"{owner}: {name} must be a finite number {bound}",
            received=repr(value),
            expected=f"float {bound}",
            fix=f"pass {name}=<float {bound}>",
        )
    return float(value)


def one_of(owner: str, name: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(
            f"{owner}: unknown {name}",
            received=repr(value),
            expected=" | ".join(repr(c) for c in choices),
            fix=f"pass one of {list(choices)}",
        )
    return value


def check_rank(owner: str, shape, rank: int, layout: str) -> None:
    """Static rank check on user input (raised while building the model, never an assert)."""
    if shape is not None and len(shape) != rank:
        raise AudioError(
            f"{owner} got an input of the wrong rank",
            received=f"shape {tuple(shape)}",
            expected=f"rank {rank}: {layout}",
            fix="reshape the input to the canonical layout (DESIGN.md 4.9); mono waveforms are [batch, time]",
        )


def get_window(owner: str, window, length: int) -> np.ndarray:
    """Periodic (DFT-even) window, as librosa.filters.get_window and tf.signal.hann_window(periodic=True)."""
    from scipy.signal import get_window as scipy_window

    if window is None:
        return np.ones(length)
    try:
        if not isinstance(window, str):
            raise ValueError("window must be a string name")
        return np.asarray(scipy_window(window, length, fftbins=True), dtype=np.float64)
    except (ValueError, TypeError) as err:
        raise ConfigError(
            f"{owner}: unknown window",
            received=repr(window),
            expected="a scipy.signal.get_window name such as 'hann', 'hamming', 'blackman', or None (rectangular)",
            fix="pass window='hann'",
        ) from err


# ----------------------------------------------------------------------------- shapes
def num_frames(num_samples, frame_length: int, frame_step: int):
    """1 + (T - L) // step, floored at 0; None when T is unknown."""
    if num_samples is None:
        return None
    return max(0, 1 + (int(num_samples) - frame_length) // frame_step)


def _dyn_num_frames(x, frame_length: int, frame_step: int):
    static_t = x.shape[1]
    if static_t is not None:
        return num_frames(static_t, frame_length, frame_step)
    t = tf.shape(x)[1]
    return tf.maximum(0, 1 + (t - frame_length) // frame_step)


def dim(x, axis: int):
    """Static size of an axis when known (keeps converted graphs free of SHAPE ops), else a tensor."""
    return x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]


def reshape_to(x, dims):
    """Reshape to explicit sizes (no -1: it cannot be inferred for empty tensors)."""
    if all(isinstance(d, int) for d in dims):
        return tf.reshape(x, dims)
    return tf.reshape(x, tf.stack([tf.cast(d, tf.int32) for d in dims]))


def frame(x, frame_length: int, frame_step: int):
    """[B, T] -> [B, F, frame_length] with F = 1 + (T - L) // step (no padding, no centering).

    Cuts the signal into hop-sized chunks and concatenates ceil(L / step) shifted views, so the
    converted graph needs only slices, reshapes and one concatenation (no per-sample index tables).
    """
    reps = -(-frame_length // frame_step)
    n_frames = _dyn_num_frames(x, frame_length, frame_step)
    n_chunks = n_frames + reps - 1
    needed = n_chunks * frame_step
    if isinstance(needed, int) and x.shape[1] is not None:
        extra = needed - x.shape[1]
        x = x[:, :needed] if extra <= 0 else tf.pad(x, [[0, 0], [0, extra]])
    else:
        extra = tf.maximum(needed - tf.shape(x)[1], 0)
        x = tf.pad(x, [[0, 0], [0, extra]])[:, :needed]
    chunks = reshape_to(x, [dim(x, 0), n_chunks, frame_step])
    if reps == 1:
        views = chunks
    else:
        views = tf.concat([chunks[:, r:r + n_frames, :] for r in range(reps)], axis=2)
    return views[:, :, :frame_length]


def over_frame_chunks(x, frame_length: int, frame_step: int, frames_per_chunk, fn):
    """fn(waveform piece) -> [B, F_piece, ...], applied to consecutive pieces of at most
    `frames_per_chunk` frames (equal sizes, as few as allowed) and concatenated on the frame axis:
    the frames of fn(x), but a converted graph keeps one piece's framing and DFT tensors alive at a
    time (peak activation memory of a microcontroller arena). fn(x) when chunking is off, the length
    is not static, or the signal is at most one piece long."""
    n_frames = num_frames(x.shape[1], frame_length, frame_step)
    if not frames_per_chunk or n_frames is None or n_frames <= frames_per_chunk:
        return fn(x)
    size = -(-n_frames // -(-n_frames // frames_per_chunk))
    pieces = []
    for first in range(0, n_frames, size):
        count = min(size, n_frames - first)
        start = first * frame_step
        pieces.append(fn(x[:, start:start + (count - 1) * frame_step + frame_length]))
    return tf.concat(pieces, axis=1)


def overlap_add(frames, frame_step: int):
    """[B, F, L] -> [B, (F - 1) * step + L]: sum of frames placed every `frame_step` samples."""
    frame_length = frames.shape[-1]
    reps = -(-frame_length // frame_step)
    padded = tf.pad(frames, [[0, 0], [0, 0], [0, reps * frame_step - frame_length]])
    static_f = frames.shape[1]
    n_frames = static_f if static_f is not None else tf.shape(frames)[1]
    batch = dim(frames, 0)
    pieces = reshape_to(padded, [batch, n_frames, reps, frame_step])
    total = None
    for r in range(reps):
        # piece r of frame f lands on output chunk f + r
        part = tf.pad(pieces[:, :, r, :], [[0, 0], [r, reps - 1 - r], [0, 0]])
        total = part if total is None else total + part
    length = (n_frames - 1) * frame_step + frame_length
    flat = reshape_to(total, [batch, (n_frames + reps - 1) * frame_step])
    if isinstance(length, int):
        return flat[:, :max(length, 0)]
    return flat[:, :tf.maximum(length, 0)]


_GRAPH_CONSTANTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def constant(values: np.ndarray):
    """tf.constant(values, float32), created once per traced graph for the same numpy array: a
    frontend applied piece by piece (over_frame_chunks) then stores one window, DFT basis or mel
    block in the converted model instead of one copy per piece."""
    if tf.executing_eagerly():
        return tf.constant(values, dtype=tf.float32)
    cache = _GRAPH_CONSTANTS.setdefault(tf.compat.v1.get_default_graph(), {})
    if id(values) not in cache:  # the entry keeps `values` alive, so its id cannot be reused
        cache[id(values)] = (values, tf.constant(values, dtype=tf.float32))
    return cache[id(values)][1]


def matmul_last(x, matrix):
    """x[..., K] @ matrix[K, M] as one FULLY_CONNECTED/BATCH_MATMUL with a float32 constant (a numpy
    matrix becomes one constant per traced graph, see constant())."""
    matrix = matrix if tf.is_tensor(matrix) else constant(matrix)
    return tf.tensordot(x, matrix, axes=[[x.shape.rank - 1], [0]])


# Cost of one extra band block in a converted graph (a slice, a matmul, their tensors), counted
# in float32 weights; measured on TFLite flatbuffers as ~500-700 bytes per block.
BLOCK_OVERHEAD_WEIGHTS = 150


def band_blocks(matrix: np.ndarray) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Split a banded matrix [K, M] (columns nonzero on a contiguous row range, ranges moving
    down with the column, e.g. a mel filterbank) into blocks (row_lo, row_hi, col_lo, col_hi,
    matrix[row_lo:row_hi, col_lo:col_hi]) of consecutive columns that together hold every
    nonzero. The grouping minimises stored weights plus a per-block overhead (dynamic
    programming over column splits), so the KWS 257x40 mel matrix (10,280 entries, 41 KB) becomes 7 blocks of 1,417."""
    matrix = np.asarray(matrix, np.float32)
    cols = matrix.shape[1]
    rows = [np.flatnonzero(matrix[:, j]) for j in range(cols)]
    lo = [int(r[0]) if r.size else 0 for r in rows]
    hi = [int(r[-1]) + 1 if r.size else 1 for r in rows]

    def cost(a, b):  # columns a..b-1 in one block
        return (max(hi[a:b]) - min(lo[a:b])) * (b - a) + BLOCK_OVERHEAD_WEIGHTS

    best = [0.0] + [np.inf] * cols
    split = [0] * (cols + 1)
    for b in range(1, cols + 1):
        for a in range(b):
            c = best[a] + cost(a, b)
            if c < best[b]:
                best[b], split[b] = c, a
    bounds, b = [], cols
    while b > 0:
        bounds.append((split[b], b))
        b = split[b]
    blocks = []
    for a, b in reversed(bounds):
        r0, r1 = min(lo[a:b]), max(hi[a:b])
        blocks.append((r0, r1, a, b, matrix[r0:r1, a:b].copy()))
    return blocks


def banded_matmul_last(x, blocks):
    """x[..., K] @ matrix for a matrix given as band_blocks(matrix): slices of x times small
    constants, concatenated on the last axis (zeros outside the bands are never stored)."""
    parts = [matmul_last(x[..., r0:r1], block) for r0, r1, _, _, block in blocks]
    return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)


def safe_sqrt(power):
    """sqrt with a zero (not NaN) gradient at 0."""
    return tf.sqrt(tf.maximum(power, TINY))


def array_initializer(values: np.ndarray):
    """Initializer returning fixed values (weights are saved, so it never needs serializing)."""
    values = np.asarray(values, dtype=np.float32)

    def init(shape, dtype=None):
        if tuple(shape) != values.shape:
            raise ConfigError("initial values do not fit the weight", received=tuple(shape),
                              expected=values.shape)
        return tf.constant(values, dtype=dtype or tf.float32)

    return init
