"""noisy-speech: clean speech + recorded and colored noise at -5..20 dB SNR, half in rooms (16 kHz).

Clean speech is an utterance of speech_mixtures.SpeechBank (4-6 word clips of one voice of the
split-by-voice speech-commands-synth corpus) with 0.1-0.5 s of silence before and after, so a
denoiser also sees noise-only stretches. Noise is one of: a recorded noise of the Debian noise
bank (training/corpora/noise.py; split by recording, so test noises are never heard in
training), synthetic colored noise (white, pink, brown, blue, violet), or both (the colored
part 0-10 dB below the recording). Recordings shorter than the clip are looped from a random
start. SNR is drawn uniformly in -5..20 dB as the ratio of clean and noise RMS over the clip.

Rooms: with probability ROOM_SHARE the speech and the noise are point sources in one ShoeBox
(speech_mixtures.room_rirs; RT60 0.1-0.6 s, a room shared by ROOM_REUSE consecutive clips of a
split). The target `clean` is then the reverberant speech image at the microphone (the corpus
trains denoising, not dereverberation): noisy == clean + noise exactly, in 16-bit counts.
Clipping, determinism and workers as in speech_mixtures.py.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from training.corpora.corpus_args import check_args

from training.corpora import speech_mixtures as sm
from training.manifest import SPLITS
from zoo.errors import DataError

NAME = "noisy-speech"
GENERATOR_VERSION = 1
SAMPLE_RATE = 16000
SNR_RANGE_DB = (-5.0, 20.0)
PAD_S = (0.1, 0.5)
ROOM_SHARE = 0.5
NOISE_KINDS = (("recorded", 0.5), ("colored", 0.25), ("recorded+colored", 0.25))
COLORED_BELOW_DB = (0.0, 10.0)
SCALES = {"full": {"train": 8000, "validation": 1000, "test": 1000},
          "tiny": {"train": 8, "validation": 4, "test": 4}}


def noise_bank_manifest(root, noise_cache, progress: bool):
    """Manifest of the recorded noise bank (fetched when missing), or None with a warning."""
    from training.corpora import noise

    cache = Path(root) / "cache" if noise_cache is None else Path(noise_cache)
    try:
        return noise.fetch_noise_recordings(cache, progress=progress)
    except DataError as e:
        warnings.warn(f"no recorded noise bank ({e}); noise is synthetic colored noise only", stacklevel=3)
        return None


def load_noises(noise_manifest, sample_rate: int) -> dict:
    """{split: [(manifest path, waveform)]} of the recorded noise bank, or empty lists without one."""
    from training.corpora import noise

    out = {s: [] for s in SPLITS}
    if noise_manifest is None:
        return out
    cache = Path(noise_manifest).parent.parent
    records = noise.read_noise_manifest(cache)
    for split in SPLITS:
        names = [r["path"] for r in records if r["split"] == split]
        if names:
            out[split] = list(zip(names, noise.load_noise_bank(cache, split, sample_rate=sample_rate)))
    return out


def loop_window(x: np.ndarray, n: int, rng) -> np.ndarray:
    """`n` samples of `x` from a random start, looping when `x` is shorter."""
    start = int(rng.integers(len(x)))
    reps = -(-(start + n) // len(x))
    return np.tile(x, reps)[start : start + n].astype(np.float32)


def draw_noise(rng, n: int, recorded: list, kinds=NOISE_KINDS, channels: int | None = None):
    """(noise at unit RMS, description): recorded, colored, or both, from one split's recordings.

    Shape [n], or [channels, n] with one choice of recording and color for all channels but
    independent windows and colored draws (the inputs of a diffuse field).
    """
    from training.corpora.noise import COLORS, colored_noise

    names, probs = zip(*kinds)
    if not recorded:  # a split without recordings: colored noise only
        kind = "colored"
    else:
        kind = str(names[int(rng.choice(len(names), p=np.asarray(probs) / sum(probs)))])
    info = {"noise_kind": kind, "noise_files": [], "noise_color": None}
    out = np.zeros((channels or 1, n), np.float64)
    if "recorded" in kind:
        path, wave = recorded[int(rng.integers(len(recorded)))]
        for c in range(len(out)):
            x = loop_window(wave, n, rng)
            out[c] += x / max(np.sqrt(np.mean(np.square(x, dtype=np.float64))), 1e-9)
        info["noise_files"] = [path]
    if "colored" in kind:
        color = sorted(COLORS)[int(rng.integers(len(COLORS)))]
        below = float(rng.uniform(*COLORED_BELOW_DB)) if "recorded" in kind else 0.0
        for c in range(len(out)):
            out[c] += colored_noise(n, color, rng) * 10 ** (-below / 20)
        info["noise_color"] = color
        if "recorded" in kind:
            info["colored_below_db"] = round(below, 3)
    out /= np.sqrt(np.mean(out * out, axis=1, keepdims=True))
    return (out if channels else out[0]).astype(np.float32), info


def _load(speech_manifest, noise_manifest):
    return sm.load_state(speech_manifest, noises=load_noises(noise_manifest, SAMPLE_RATE))


def make_noisy_unit(unit: dict, state: dict) -> dict:
    split, i, seed, out_dir = unit["split"], unit["index"], unit["seed"], Path(unit["out"])
    sr, bank = SAMPLE_RATE, state["bank"]
    rng = np.random.default_rng(sm.seed_key(seed, NAME, split, i))
    speaker = str(rng.choice(bank.speakers(split, 1)))
    speech, words, clips = bank.utterance(split, speaker, rng, sr)
    pads = [int(rng.uniform(*PAD_S) * sr) for _ in range(2)]
    clean = np.concatenate([np.zeros(pads[0], np.float32), speech, np.zeros(pads[1], np.float32)])
    n = len(clean)
    noise, info = draw_noise(rng, n, state["noises"][split])
    snr, level = float(rng.uniform(*SNR_RANGE_DB)), float(rng.uniform(*sm.MIX_RMS_RANGE_DB))
    room = None
    if rng.uniform() < ROOM_SHARE:
        r = i // sm.ROOM_REUSE
        room_rng = np.random.default_rng(sm.seed_key(seed, NAME, "room", split, r))
        room = sm.draw_room(room_rng)
        mic = sm.random_positions(room_rng, room["dims"], 1)
        srcs = sm.random_positions(room_rng, room["dims"], 2, avoid=mic)
        rirs, _ = sm.cached_rirs(state, (split, r), lambda: sm.room_rirs(room, srcs, mic, sr))
        clean, noise = sm.convolve(clean, rirs[0, 0]), sm.convolve(noise, rirs[1, 0])
        room.update({"speech_source": srcs[0].round(4).tolist(), "noise_source": srcs[1].round(4).tolist(),
                     "mic": mic[0].round(4).tolist(), "rir_seconds": sm.RIR_SECONDS, "room_index": r,
                     "reuse": sm.ROOM_REUSE})
    noise = noise * np.float32(10 ** ((sm.rms_db(clean) - snr - sm.rms_db(noise)) / 20))
    g = 10 ** ((level - sm.rms_db(clean + noise)) / 20)
    g *= sm.anti_clip_scale(g * (clean + noise), g * clean, g * noise)
    parts = [sm.to_pcm(g * clean), sm.to_pcm(g * noise)]
    name = f"{i:05d}.wav"
    rel = {k: f"{split}/{k}/{name}" for k in ("noisy", "clean", "noise")}
    sm.write_pcm(out_dir / rel["noisy"], parts[0] + parts[1], sr)
    sm.write_pcm(out_dir / rel["clean"], parts[0], sr)
    sm.write_pcm(out_dir / rel["noise"], parts[1], sr)
    return {"path": rel["noisy"], "sources": [rel["clean"]], "noise": rel["noise"], "split": split, "index": i,
            "speakers": [speaker], "words": [words], "speech_clips": [clips], "snr_db": round(snr, 3),
            "mixture_rms_db": round(sm.rms_db(g * (clean + noise)), 3), "gain": round(float(g), 6),
            "speech_offset": pads[0], "speech_samples": len(speech), "num_samples": n, "duration": round(n / sr, 4),
            "sample_rate": sr, "seed": seed, "reverberant": room is not None, "room": room,
            "target": "reverberant_image" if room is not None else "dry", **info}


def _readme(config, noise_records) -> str:
    lines = [f"# {NAME}", "", f"Noisy speech for enhancement, {SAMPLE_RATE} Hz, 16-bit PCM WAV (generator version "
             f"{GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`): `noisy` == `clean` + `noise` "
             "exactly.", "", f"Clean: 4-6 word utterances of `{sm.SPEECH_CORPUS}` voices (split by voice) with "
             f"{PAD_S[0]}-{PAD_S[1]} s silence around. Noise: recorded (Debian noise bank, split by recording), "
             "colored, or both. SNR uniform in "
             f"{SNR_RANGE_DB[0]:g}..{SNR_RANGE_DB[1]:g} dB (clip RMS). {ROOM_SHARE:.0%} of clips are in a ShoeBox "
             f"room (RT60 {sm.RT60_RANGE[0]}-{sm.RT60_RANGE[1]} s); their `clean` is the reverberant speech image.",
             "", "Manifest rows: path (noisy), sources ([clean]), noise, split, index, speakers, words, speech_clips, "
             "snr_db, mixture_rms_db, gain, speech_offset, speech_samples, num_samples, duration, sample_rate, seed, "
             "reverberant, room, target, noise_kind, noise_files, noise_color (and colored_below_db).", ""]
    if noise_records:
        lines.append("Recorded noises (attribution in the noise bank's manifest and copyright files):")
        by = {}
        for r in noise_records:
            by[(r["package"], r["license"])] = by.get((r["package"], r["license"]), 0) + 1
        lines += [f"- {p}: {k} files, {lic}" for (p, lic), k in sorted(by.items())]
    return "\n".join(lines) + "\n"


def make_noisy_speech(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2,
                      speech_manifest=None, noise_cache=None) -> Path:
    """Generate (or reuse) `<root>/noisy-speech/`; return its manifest path.

    noise_cache: folder of the recorded noise bank (default `<root>/cache`, fetched when missing;
    without it the noise is colored only, with a warning). Cached like speech_mixtures.
    """
    check_args(scale, seed, workers, SCALES)
    out_dir = Path(root) / NAME
    speech = sm.speech_manifest_path(root, scale, progress, speech_manifest)
    noise_manifest = noise_bank_manifest(root, noise_cache, progress)
    config = {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
              "sample_rate": SAMPLE_RATE, "speech_manifest": sm.file_digest(speech),
              "noise_manifest": sm.file_digest(noise_manifest) if noise_manifest else None}
    if sm.cached(out_dir, config):
        return out_dir / "manifest.jsonl"
    start = time.monotonic()
    sm.start_fresh(out_dir)
    units = [{"split": s, "index": i, "seed": int(seed), "out": str(out_dir)} for s, i in sm.units_for(SCALES[scale])]
    rows = sm.run_units(make_noisy_unit, _load, {"speech_manifest": str(speech),
                                                 "noise_manifest": str(noise_manifest) if noise_manifest else None},
                        units, workers=workers, progress=progress, desc=NAME)
    records = ([json.loads(line) for line in Path(noise_manifest).read_text().splitlines() if line.strip()]
               if noise_manifest else [])
    return sm.finish(out_dir, rows, config, _readme(config, records), start, progress)
