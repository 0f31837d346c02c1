"""array-mixtures: 4-microphone recordings of one or two speakers plus noise in ShoeBox rooms (16 kHz).

Each mixture draws a room (RT60 0.1-0.6 s, speech_mixtures.draw_room), a 4-mic array (linear,
4 cm spacing, or circular, 3.25 cm radius; random horizontal orientation) at least 1 m from the
walls, and one or two speakers of the split-by-voice speech corpus 1-3 m from the array centre
and at least 20 degrees apart in azimuth. Noise is either a point source in the room (a recorded
or colored noise, noisy_speech.draw_noise) or a spherically diffuse field: independent noises
mixed per frequency so that the coherence between microphones is sinc(2 f d / c) (Habets and
Gannot's method). SNR at microphone 0 is uniform in 0..20 dB; two speakers differ by 0..5 dB.

Targets: each speaker's reverberant image at microphone 0 (`sources`); `noise` is the noise at
microphone 0, so channel 0 of the mixture == sum(sources) + noise exactly in 16-bit counts (the
other channels are rounded once, from the float sum). Rows store the microphone and source
positions and each speaker's DOA from the array centre: azimuth in the room frame and relative
to the array's reference axis (the line of a linear array, microphone 0 of a circular one),
elevation and distance. Clipping, determinism and workers as in speech_mixtures.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from training.corpora.corpus_args import check_args

from training.corpora import noisy_speech as ns
from training.corpora import speech_mixtures as sm

NAME = "array-mixtures"
GENERATOR_VERSION = 1
SAMPLE_RATE = 16000
NUM_MICS = 4
LINEAR_SPACING = 0.04
CIRCULAR_RADIUS = 0.0325
ARRAY_MARGIN = 1.0
SOURCE_DISTANCE = (1.0, 3.0)
MIN_SEPARATION_DEG = 20.0
SNR_RANGE_DB = (0.0, 20.0)
DIFFUSE_SHARE = 0.5
SPEED_OF_SOUND = 343.0
DIFFUSE_NFFT = 1024
SCALES = {"full": {"train": 1600, "validation": 200, "test": 200},
          "tiny": {"train": 6, "validation": 3, "test": 3}}


def array_geometry(kind: str, center, rotation: float) -> np.ndarray:
    """[NUM_MICS, 3] microphone positions of a horizontal linear or circular array."""
    if kind == "linear":
        offsets = (np.arange(NUM_MICS) - (NUM_MICS - 1) / 2) * LINEAR_SPACING
        angles = np.full(NUM_MICS, rotation)
    else:
        offsets = np.full(NUM_MICS, CIRCULAR_RADIUS)
        angles = rotation + 2 * np.pi * np.arange(NUM_MICS) / NUM_MICS
    return np.asarray(center, float) + np.stack([offsets * np.cos(angles), offsets * np.sin(angles),
                                                 np.zeros(NUM_MICS)], axis=1)


def doa(source, center, rotation: float) -> dict:
    v = np.asarray(source, float) - np.asarray(center, float)
    azimuth = np.degrees(np.arctan2(v[1], v[0])) % 360.0
    return {"azimuth_deg": round(float(azimuth), 3),
            "array_azimuth_deg": round(float((azimuth - np.degrees(rotation)) % 360.0), 3),
            "elevation_deg": round(float(np.degrees(np.arctan2(v[2], np.linalg.norm(v[:2])))), 3),
            "distance_m": round(float(np.linalg.norm(v)), 4)}


def diffuse_noise(signals: np.ndarray, mics: np.ndarray, sample_rate: int, n_fft: int = DIFFUSE_NFFT) -> np.ndarray:
    """[M, T] spherically diffuse noise from M independent [M, T] noises of equal spectra.

    Per frequency bin the STFTs are mixed by C with C C^T = Gamma, Gamma_ij = sinc(2 f d_ij / c)
    (eigendecomposition; negative eigenvalues from rounding are set to 0).
    """
    from scipy.signal import istft, stft

    m, t = signals.shape
    _, _, spec = stft(signals, nperseg=n_fft, noverlap=3 * n_fft // 4, axis=-1)  # [M, F, frames]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    dist = np.linalg.norm(mics[:, None, :] - mics[None, :, :], axis=-1)
    out = np.empty_like(spec)
    for k, f in enumerate(freqs):
        gamma = np.sinc(2.0 * f * dist / SPEED_OF_SOUND)
        w, v = np.linalg.eigh(gamma)
        out[:, k, :] = (v * np.sqrt(np.maximum(w, 0.0))) @ spec[:, k, :]
    _, x = istft(out, nperseg=n_fft, noverlap=3 * n_fft // 4, time_axis=-1, freq_axis=-2)
    return x[:, :t].astype(np.float32)


def _place(rng, dims, center, count):
    """Speaker positions SOURCE_DISTANCE from the centre, inside the room, MIN_SEPARATION_DEG apart."""
    dims = np.asarray(dims, float)
    out = []
    for _ in range(count):
        for _attempt in range(500):
            az = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(*SOURCE_DISTANCE)
            z = rng.uniform(max(0.5, center[2] - 0.5), min(dims[2] - 0.5, center[2] + 0.8))
            horiz = np.sqrt(max(dist ** 2 - (z - center[2]) ** 2, 0.25))
            p = np.array([center[0] + horiz * np.cos(az), center[1] + horiz * np.sin(az), z])
            inside = np.all(p >= 0.5) and np.all(p <= dims - 0.5)
            apart = all(abs((np.degrees(az - a) + 180) % 360 - 180) >= MIN_SEPARATION_DEG for a, _ in out)
            if inside and apart:
                break
        out.append((az, p))
    return np.array([p for _, p in out])


def _load(speech_manifest, noise_manifest):
    return sm.load_state(speech_manifest, noises=ns.load_noises(noise_manifest, SAMPLE_RATE))


def make_array_unit(unit: dict, state: dict) -> dict:
    split, i, seed, out_dir = unit["split"], unit["index"], unit["seed"], Path(unit["out"])
    sr, bank = SAMPLE_RATE, state["bank"]
    rng = np.random.default_rng(sm.seed_key(seed, NAME, split, i))
    count = int(rng.integers(1, 3))
    speakers = [str(s) for s in rng.choice(bank.speakers(split, count), size=count, replace=False)]
    utts = [bank.utterance(split, s, rng, sr) for s in speakers]
    n = min(len(u[0]) for u in utts)
    noise_field = "diffuse" if rng.uniform() < DIFFUSE_SHARE else "point"
    snr, sir = float(rng.uniform(*SNR_RANGE_DB)), float(rng.uniform(*sm.SIR_RANGE_DB))
    level = float(rng.uniform(*sm.MIX_RMS_RANGE_DB))
    room = sm.draw_room(rng)
    dims = np.asarray(room["dims"])
    geometry, rotation = ("linear", "circular")[int(rng.integers(2))], float(rng.uniform(0, 2 * np.pi))
    center = rng.uniform([ARRAY_MARGIN, ARRAY_MARGIN, 0.8], [dims[0] - ARRAY_MARGIN, dims[1] - ARRAY_MARGIN,
                                                             min(1.6, dims[2] - 0.5)])
    mics = array_geometry(geometry, center, rotation)
    positions = _place(rng, dims, center, count)
    noise_pos = sm.random_positions(rng, dims, 1, avoid=[center]) if noise_field == "point" else np.zeros((0, 3))
    rirs, _ = sm.room_rirs(room, np.concatenate([positions, noise_pos]), mics, sr)
    images = [sm.convolve(u[0][:n], rirs[k]) for k, u in enumerate(utts)]  # [M, n] each
    if count == 2:
        images = [x * np.float32(10 ** ((s * sir / 2 - sm.rms_db(x[0])) / 20)) for x, s in zip(images, (1, -1))]
    recorded = state["noises"][split]
    if noise_field == "point":
        noise, info = ns.draw_noise(rng, n, recorded)
        noise = sm.convolve(noise, rirs[count])
    else:
        # One recording (or color) for all channels, independent windows: equal spectra.
        inputs, info = ns.draw_noise(rng, n, recorded, channels=NUM_MICS)
        noise = diffuse_noise(inputs, mics, sr)
    speech = np.sum(images, axis=0)
    noise = noise * np.float32(10 ** ((sm.rms_db(speech[0]) - snr - sm.rms_db(noise[0])) / 20))
    g = 10 ** ((level - sm.rms_db(speech[0] + noise[0])) / 20)
    g *= sm.anti_clip_scale(g * (speech + noise), *(g * x[0] for x in images), g * noise[0])
    parts = [sm.to_pcm(g * x[0]) for x in images]
    noise0 = sm.to_pcm(g * noise[0])
    mix = sm.to_pcm(g * (speech + noise))
    mix[0] = np.sum(parts, axis=0) + noise0
    name = f"{i:05d}.wav"
    rel = {"mix": f"{split}/mix/{name}", "noise": f"{split}/noise/{name}"}
    sources = [f"{split}/s{k + 1}/{name}" for k in range(count)]
    sm.write_pcm(out_dir / rel["mix"], mix, sr)
    sm.write_pcm(out_dir / rel["noise"], noise0, sr)
    for path, part in zip(sources, parts):
        sm.write_pcm(out_dir / path, part, sr)
    room.update({"rir_seconds": sm.RIR_SECONDS,
                 "noise_source": noise_pos[0].round(4).tolist() if len(noise_pos) else None})
    return {"path": rel["mix"], "sources": sources, "noise": rel["noise"], "split": split, "index": i,
            "num_speakers": count, "speakers": speakers, "words": [u[1] for u in utts],
            "speech_clips": [u[2] for u in utts], "snr_db": round(snr, 3),
            "sir_db": round(sir, 3) if count == 2 else None,
            "mixture_rms_db": round(sm.rms_db(g * (speech[0] + noise[0])), 3), "gain": round(float(g), 6),
            "noise_field": noise_field, "num_channels": NUM_MICS, "num_samples": n, "duration": round(n / sr, 4),
            "sample_rate": sr, "seed": seed, "room": room, "target": "reverberant_image_mic0",
            "array": {"geometry": geometry, "center": center.round(4).tolist(),
                      "rotation_deg": round(np.degrees(rotation), 3),
                      "spacing_m": LINEAR_SPACING if geometry == "linear" else None,
                      "radius_m": CIRCULAR_RADIUS if geometry == "circular" else None},
            "mic_positions": mics.round(5).tolist(), "source_positions": positions.round(4).tolist(),
            "doa": [doa(p, center, rotation) for p in positions], **info}


def _readme(config) -> str:
    return "\n".join([
        f"# {NAME}", "", f"{NUM_MICS}-microphone mixtures, {SAMPLE_RATE} Hz, 16-bit PCM WAV (generator version "
        f"{GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`), pyroomacoustics ShoeBox rooms "
        f"(RT60 {sm.RT60_RANGE[0]}-{sm.RT60_RANGE[1]} s, RIRs cut at {sm.RIR_SECONDS} s).", "",
        f"Arrays: linear ({LINEAR_SPACING * 100:g} cm spacing) or circular ({CIRCULAR_RADIUS * 100:g} cm radius). "
        f"One or two speakers of `{sm.SPEECH_CORPUS}` (split by voice) {SOURCE_DISTANCE[0]:g}-{SOURCE_DISTANCE[1]:g} m "
        f"away; point or diffuse noise (recordings split by file, or colored), SNR {SNR_RANGE_DB[0]:g}.."
        f"{SNR_RANGE_DB[1]:g} dB at microphone 0.", "",
        "Targets (`sources`) are each speaker's reverberant image at microphone 0; `noise` is the noise there: "
        "channel 0 of `path` == sum(sources) + noise exactly.", "",
        "Manifest rows: path, sources, noise, split, index, num_speakers, speakers, words, speech_clips, snr_db, "
        "sir_db, mixture_rms_db, gain, noise_field, num_channels, num_samples, duration, sample_rate, seed, room, "
        "target, array, mic_positions, source_positions, doa (azimuth_deg, array_azimuth_deg, elevation_deg, "
        "distance_m per speaker), noise_kind, noise_files, noise_color.", ""])


def make_array_mixtures(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2,
                        speech_manifest=None, noise_cache=None) -> Path:
    """Generate (or reuse) `<root>/array-mixtures/`; return its manifest path (see noisy_speech for the args)."""
    check_args(scale, seed, workers, SCALES)
    out_dir = Path(root) / NAME
    speech = sm.speech_manifest_path(root, scale, progress, speech_manifest)
    noise_manifest = ns.noise_bank_manifest(root, noise_cache, progress)
    config = {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
              "sample_rate": SAMPLE_RATE, "speech_manifest": sm.file_digest(speech),
              "noise_manifest": sm.file_digest(noise_manifest) if noise_manifest else None}
    if sm.cached(out_dir, config):
        return out_dir / "manifest.jsonl"
    start = time.monotonic()
    sm.start_fresh(out_dir)
    units = [{"split": s, "index": i, "seed": int(seed), "out": str(out_dir)} for s, i in sm.units_for(SCALES[scale])]
    rows = sm.run_units(make_array_unit, _load, {"speech_manifest": str(speech),
                                                 "noise_manifest": str(noise_manifest) if noise_manifest else None},
                        units, workers=workers, progress=progress, desc=NAME)
    return sm.finish(out_dir, rows, config, _readme(config), start, progress)
