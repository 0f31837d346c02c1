"""Simulated room impulse responses for reverberation augmentation (pyroomacoustics ShoeBox ISM)."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError

# Room size ranges (metres): small offices to large living rooms.
ROOM_MIN = (3.0, 3.0, 2.5)
ROOM_MAX = (10.0, 8.0, 4.0)
WALL_MARGIN = 0.5  # source and microphone keep this distance from every wall (metres)
MIN_DISTANCE = 0.5  # source-microphone distance (metres)
PRE_DELAY_S = 0.001  # the RIR starts this long before the direct path, which keeps its sinc lobes
FADE_OUT_S = 0.01  # half-Hann taper where the RIR is cut at max_length_s
_SPEED_OF_SOUND = 343.0
_MAX_PLACEMENTS = 20


def _check_args(num_rirs, sample_rate, rt60_range, max_length_s):
    if isinstance(num_rirs, bool) or not isinstance(num_rirs, (int, np.integer)) or num_rirs < 0:
        raise ConfigError("num_rirs must be an int >= 0", received=repr(num_rirs), expected="int >= 0",
                          fix="pass e.g. 200")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or not (
            8000 <= sample_rate <= 192000):
        raise ConfigError("sample_rate must be an int in Hz", received=repr(sample_rate),
                          expected="int between 8000 and 192000", fix="pass e.g. 16000")
    try:
        lo, hi = (float(v) for v in rt60_range)
    except (TypeError, ValueError):
        raise ConfigError("rt60_range must be two numbers (seconds)", received=repr(rt60_range),
                          expected="(low, high) with 0.05 <= low <= high <= 2.0",
                          fix="pass e.g. (0.1, 0.8)") from None
    if not 0.05 <= lo <= hi <= 2.0:
        raise ConfigError("rt60_range out of range", received=repr(rt60_range),
                          expected="(low, high) with 0.05 <= low <= high <= 2.0", fix="pass e.g. (0.1, 0.8)")
    if not 0.05 <= float(max_length_s) <= 5.0:
        raise ConfigError("max_length_s out of range", received=repr(max_length_s),
                          expected="0.05 to 5.0 seconds", fix="pass e.g. 0.5")
    return lo, hi


def _room_for(rt60, rng):
    """Room size and wall energy absorption realising `rt60` by Sabine's formula."""
    import pyroomacoustics as pra

    dims = rng.uniform(ROOM_MIN, ROOM_MAX)
    while True:
        # Sabine needs absorption <= 1: a short RT60 cannot be reached in a large room, so shrink it.
        volume, surface = np.prod(dims), 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
        if 0.161 * volume / (surface * rt60) <= 0.99 or np.all(dims <= np.array(ROOM_MIN) * 0.6):
            break
        dims = dims * 0.9
    absorption, max_order = pra.inverse_sabine(rt60, dims.tolist())
    return dims, float(absorption), int(max_order)


def _positions(dims, rng):
    lo, hi = np.full(3, WALL_MARGIN), dims - WALL_MARGIN
    while True:
        source, mic = rng.uniform(lo, hi), rng.uniform(lo, hi)
        if np.linalg.norm(source - mic) >= MIN_DISTANCE:
            return source, mic


def _simulate(dims, absorption, max_order, source, mic, sample_rate):
    """RIR from pra and the index of its direct path."""
    import pyroomacoustics as pra

    room = pra.ShoeBox(dims.tolist(), fs=sample_rate, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(source.tolist())
    room.add_microphone(mic.tolist())
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    # pra delays every RIR by half its fractional-delay filter; the rest is the travel time.
    delay = pra.constants.get("frac_delay_length") // 2
    return rir, int(round(np.linalg.norm(source - mic) / room.c * sample_rate)) + delay


def make_rir_bank(num_rirs, *, sample_rate=16000, seed=0, rt60_range=(0.1, 0.8), max_length_s=0.5) -> list[np.ndarray]:
    """`num_rirs` single-channel RIRs (float32, each max_length_s long, unit peak at the direct path).

    Each RIR draws an RT60 uniformly from `rt60_range`, a shoebox room, wall absorption from
    the RT60 (pra.inverse_sabine), and source and microphone positions at least 0.5 m from the
    walls and from each other. The direct path sits PRE_DELAY_S after the start, so convolving
    delays a signal by only 1 ms. Deterministic per `seed`.
    """
    lo, hi = _check_args(num_rirs, sample_rate, rt60_range, max_length_s)
    rng = np.random.default_rng(seed)
    length = int(round(max_length_s * sample_rate))
    pre = int(round(PRE_DELAY_S * sample_rate))
    fade = min(int(round(FADE_OUT_S * sample_rate)), length // 4)
    taper = np.cos(np.linspace(0.0, np.pi / 2, fade)) ** 2 if fade else np.ones(0)
    bank = []
    for _ in range(int(num_rirs)):
        rt60 = rng.uniform(lo, hi)
        dims, absorption, max_order = _room_for(rt60, rng)
        # Max order beyond which all images arrive after max_length_s: skip computing them.
        max_order = min(max_order, int(np.ceil(_SPEED_OF_SOUND * max_length_s / dims.min())) + 2)
        for _attempt in range(_MAX_PLACEMENTS):
            source, mic = _positions(dims, rng)
            rir, direct = _simulate(dims, absorption, max_order, source, mic, int(sample_rate))
            # Near a wall or corner coincident reflections can outweigh the direct sound: redraw.
            if abs(int(np.argmax(np.abs(rir))) - direct) <= 1:
                break
        rir = rir[max(direct - pre, 0):][:length]
        rir = np.pad(rir, (0, length - len(rir)))
        if fade:
            rir[-fade:] *= taper
        bank.append((rir / np.max(np.abs(rir))).astype(np.float32))
    return bank
