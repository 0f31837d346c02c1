"""Two-speaker mixtures (wsj0-2mix style, 8 kHz, "min" mode), anechoic and reverberant.

Speech comes from the speech-commands-synth corpus, which is split by voice: an "utterance" of
a speaker is 4-6 trimmed word clips of that speaker (same split) joined by 50-250 ms gaps,
each word at an RMS of -25 dBFS +- 3 dB. A mixture takes two different speakers of one split,
truncates both utterances to the shorter one ("min" mode), sets their relative level (SIR)
uniformly in 0..5 dB and the mixture RMS in -32..-22 dBFS. So no voice is in two splits.

Reverberant variant: both speakers in one pyroomacoustics ShoeBox (RT60 0.1-0.6 s, rooms.py's
Sabine sizing, one microphone; RIRs cut at 0.3 s with a 10 ms taper). The mixture is the sum of
the reverberant images (`images`); the targets (`sources`) are the direct-path signals (the same
room simulated with max_order=0: delayed, 1/r-attenuated dry speech), so a model trained on it
separates and dereverberates. Utterances, SIR and level equal the anechoic corpus's for the same
seed and index; a room is shared by ROOM_REUSE consecutive mixtures of a split (ISM is the cost).

Clipping: every part is scaled by one common factor so that neither the mixture nor any source
peaks above PEAK_MAX; the parts are rounded to the 16-bit grid first and the mixture is their
integer sum, so mixture == s1 + s2 (or the sum of the images) exactly in the WAV files.

Determinism: mixture `i` of a split draws from a generator keyed by (seed, corpus, split, i),
its room from (seed, corpus, "room", split, i // ROOM_REUSE); any `workers` gives byte-identical
files and manifest. Workers are spawned processes: scripts need an `if __name__ == "__main__":`
guard. The shared helpers here (speech bank, rooms, 16-bit writing, worker pool) serve
noisy_speech.py and array_mixtures.py too.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import shutil
import time
import zlib
from pathlib import Path

import numpy as np

from training.corpora import corpus_args

from training.manifest import SPLITS, read_manifest, write_manifest
from zoo.audio import rms_db  # noqa: F401  (re-exported for noisy_speech and array_mixtures)
from zoo.errors import DataError

NAME = "speech-mixtures-2spk"
NAME_REVERB = "speech-mixtures-2spk-reverb"
GENERATOR_VERSION = 1
SAMPLE_RATE = 8000
SPEECH_CORPUS = "speech-commands-synth"
WORDS_PER_UTTERANCE = (4, 6)
GAP_S = (0.05, 0.25)
WORD_RMS_DB = -25.0
WORD_JITTER_DB = 3.0
SIR_RANGE_DB = (0.0, 5.0)
MIX_RMS_RANGE_DB = (-32.0, -22.0)
PEAK_MAX = 0.9  # common scale so nothing (mixture or source) peaks above this
RT60_RANGE = (0.1, 0.6)
RIR_SECONDS = 0.3  # ISM cost grows with the cube of the RIR length; 0.3 s keeps generation in minutes
ROOM_REUSE = 4
PRE_DELAY_S = 0.001
FADE_S = 0.01
CHUNK = 64  # mixtures per worker task (a multiple of ROOM_REUSE)
SCALES = {"full": {"train": 20000, "validation": 1500, "test": 1500},
          "tiny": {"train": 12, "validation": 4, "test": 4}}
MIXTURE_KEYS = ("path", "sources", "split", "speakers", "sample_rate", "num_samples", "seed")


def seed_key(*parts) -> list[int]:
    """Entropy for np.random.default_rng from strings and ints (crc32: stable across runs)."""
    return [zlib.crc32(p.encode("utf-8")) if isinstance(p, str) else int(p) for p in parts]


# --- speech ------------------------------------------------------------------------------------

def speech_manifest_path(root, scale: str, progress: bool, speech_manifest=None) -> Path:
    """The speech corpus manifest: `speech_manifest` if given, else `<root>/speech-commands-synth`.

    An existing corpus is used whatever its scale (re-making it at another scale would delete it);
    a missing one is generated at `scale`.
    """
    if speech_manifest is not None:
        path = Path(speech_manifest)
        if not path.is_file():
            raise DataError("speech manifest not found", received=str(path), expected="a JSONL manifest",
                            fix=f"run `zoo data make {SPEECH_CORPUS}` or pass an existing manifest")
        return path
    path = Path(root) / SPEECH_CORPUS / "manifest.jsonl"
    if not path.is_file():
        from training.corpora.registry import make_corpus

        path = make_corpus(SPEECH_CORPUS, root, seed=0, scale=scale, progress=progress)
    return path


def file_digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


class SpeechBank:
    """Word clips of the speech corpus grouped by split and speaker; builds utterances."""

    def __init__(self, manifest):
        self.folder = Path(manifest).parent
        self.by_split: dict[str, dict[str, list[dict]]] = {s: {} for s in SPLITS}
        for row in read_manifest(manifest, required=("path", "label", "split", "speaker")):
            if row["label"] in ("silence", "_silence_") or row.get("engine") in (
                    "noise-bank", "colored-noise", "digital-silence"):
                continue
            self.by_split[row["split"]].setdefault(row["speaker"], []).append(row)
        for split in self.by_split:
            speakers = sorted(self.by_split[split].items())
            self.by_split[split] = {k: sorted(v, key=lambda r: r["path"]) for k, v in speakers}

    def speakers(self, split: str, at_least: int = 1) -> list[str]:
        speakers = list(self.by_split[split])
        if len(speakers) < at_least:
            raise DataError(f"too few speakers in the {split} split of the speech corpus",
                            received=f"{len(speakers)} speakers in {self.folder}", expected=f">= {at_least}",
                            fix=f"regenerate the speech corpus (`zoo data make {SPEECH_CORPUS}`) at a larger scale")
        return speakers

    def clip(self, row: dict, sample_rate: int) -> np.ndarray:
        """The word of one corpus row, silence trimmed, at `sample_rate`."""
        from training.corpora.speech_commands_synth import trim_silence
        from zoo.audio import read_audio, resample

        x, sr = read_audio(self.folder / row["path"])
        if "offset" in row and "word_samples" in row:
            x = x[int(row["offset"]) : int(row["offset"]) + int(row["word_samples"])]
        x = trim_silence(x, frame=max(1, sr // 100))
        return resample(x, sr, sample_rate) if sr != sample_rate else x

    def word(self, row: dict, sample_rate: int, rng) -> np.ndarray:
        x = self.clip(row, sample_rate)
        rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
        if rms <= 0:
            raise DataError("silent word clip in the speech corpus", received=row["path"], expected="speech",
                            fix="regenerate the speech corpus")
        gain = 10 ** ((WORD_RMS_DB + rng.uniform(-WORD_JITTER_DB, WORD_JITTER_DB)) / 20) / rms
        return (x * gain).astype(np.float32)

    def utterance(self, split: str, speaker: str, rng, sample_rate: int, words=WORDS_PER_UTTERANCE, gap_s=GAP_S):
        """(waveform, labels, clip paths): `words` (inclusive range) clips of one speaker with gaps."""
        rows = self.by_split[split][speaker]
        n = int(rng.integers(words[0], words[1] + 1))
        picks = rng.choice(len(rows), size=n, replace=n > len(rows))
        parts = []
        for j, k in enumerate(picks):
            if j:
                parts.append(np.zeros(int(rng.uniform(*gap_s) * sample_rate), np.float32))
            parts.append(self.word(rows[int(k)], sample_rate, rng))
        chosen = [rows[int(k)] for k in picks]
        return np.concatenate(parts), [r["label"] for r in chosen], [r["path"] for r in chosen]


# --- rooms -------------------------------------------------------------------------------------

def draw_room(rng, rt60_range=RT60_RANGE) -> dict:
    """A shoebox (rooms.py's Sabine sizing) for an RT60 drawn uniformly from `rt60_range`."""
    from training.corpora.rooms import _room_for

    rt60 = float(rng.uniform(*rt60_range))
    dims, absorption, max_order = _room_for(rt60, rng)
    return {"dims": [round(float(d), 4) for d in dims], "rt60": round(rt60, 4),
            "absorption": round(absorption, 5), "max_order": max_order}


def random_positions(rng, dims, count: int, margin: float = 0.5, min_distance: float = 0.5, avoid=()):
    """`count` points at least `margin` from the walls and `min_distance` from each other and `avoid`."""
    dims = np.asarray(dims, float)
    points = [np.asarray(a, float) for a in avoid]
    out = []
    for _ in range(count):
        for _attempt in range(200):
            p = rng.uniform(margin, dims - margin)
            if all(np.linalg.norm(p - q) >= min_distance for q in points):
                break
        points.append(p)
        out.append(p)
    return np.array(out).reshape(count, 3)


def room_rirs(room: dict, sources, mics, sample_rate: int, length_s: float = RIR_SECONDS):
    """(rirs, direct): float32 [S, M, L] full and direct-path RIRs, aligned to each other.

    They start PRE_DELAY_S before the earliest direct arrival (relative delays kept) and are
    scaled per source so its direct path peaks at 1 at microphone 0; the full RIRs are cut at
    `length_s` with a FADE_S half-Hann taper.
    """
    import pyroomacoustics as pra

    sources, mics = np.atleast_2d(sources), np.atleast_2d(mics)
    dims = np.asarray(room["dims"], float)
    # Images arriving after length_s are cut anyway: skip computing them (rooms.py does the same).
    order = min(int(room["max_order"]), int(np.ceil(343.0 * length_s / dims.min())) + 2)
    out = []
    for max_order in (order, 0):
        sim = pra.ShoeBox(dims.tolist(), fs=sample_rate, materials=pra.Material(room["absorption"]),
                          max_order=max_order)
        for s in sources:
            sim.add_source(s.tolist())
        sim.add_microphone(mics.T)
        sim.compute_rir()
        out.append([[np.asarray(sim.rir[m][s], np.float64) for m in range(len(mics))] for s in range(len(sources))])
    full, direct = out
    delay = pra.constants.get("frac_delay_length") // 2
    arrivals = [np.linalg.norm(s - m) / 343.0 * sample_rate for s in sources for m in mics]
    start = max(int(np.floor(min(arrivals))) + delay - int(round(PRE_DELAY_S * sample_rate)), 0)
    length = int(round(length_s * sample_rate))
    fade = int(round(FADE_S * sample_rate))
    taper = np.cos(np.linspace(0.0, np.pi / 2, fade)) ** 2
    rirs = np.zeros((len(sources), len(mics), length))
    direct_rirs = np.zeros_like(rirs)
    for s in range(len(sources)):
        for m in range(len(mics)):
            for bank, dst in ((full, rirs), (direct, direct_rirs)):
                h = bank[s][m][start : start + length]
                dst[s, m, : len(h)] = h
        rirs[s, :, -fade:] *= taper
        peak = np.max(np.abs(direct_rirs[s, 0]))
        rirs[s] /= peak
        direct_rirs[s] /= peak
    return rirs.astype(np.float32), direct_rirs.astype(np.float32)


def convolve(x: np.ndarray, rirs: np.ndarray) -> np.ndarray:
    """x [T] through rirs [..., L] -> [..., T] (the tail past T is dropped)."""
    from scipy.signal import fftconvolve

    return fftconvolve(x[None, :] if rirs.ndim == 2 else x, rirs, axes=-1)[..., : len(x)].astype(np.float32)


# --- 16-bit output -----------------------------------------------------------------------------

def anti_clip_scale(*arrays, peak: float = PEAK_MAX) -> float:
    """One factor for all parts: the largest peak among them becomes at most `peak`."""
    top = max(float(np.max(np.abs(a))) for a in arrays)
    return min(1.0, peak / top) if top > 0 else 1.0


def to_pcm(x) -> np.ndarray:
    """Float in [-1, 1] -> int32 counts of the 16-bit grid (x * 32768, rounded, clipped)."""
    return np.clip(np.rint(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int32)


def write_pcm(path, counts, sample_rate: int) -> None:
    """Write int counts as 16-bit PCM exactly (counts / 32768 round-trips through soundfile)."""
    from zoo.audio import write_audio

    counts = np.asarray(counts)
    if counts.size and (counts.max() > 32767 or counts.min() < -32768):
        raise DataError("a mixture exceeds 16-bit range", received=f"peak {int(np.abs(counts).max())} counts",
                        expected="at most 32767", fix="lower PEAK_MAX")
    write_audio(path, counts.astype(np.float32) / np.float32(32768.0), sample_rate)


# --- worker pool -------------------------------------------------------------------------------

_STATE = None


def _init(loader, kwargs):
    global _STATE
    _STATE = loader(**kwargs)


def _run_chunk(make_unit, units):
    return [make_unit(u, _STATE) for u in units]


def run_units(make_unit, loader, loader_kwargs: dict, units: list, *, workers: int, progress: bool, desc: str):
    """Rows of `make_unit(unit, state)` for every unit, in unit order; state = loader(**kwargs) per process."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(units), desc=desc, unit="mix", disable=not progress)
    rows = []
    if workers == 1:
        state = loader(**loader_kwargs)
        for unit in units:
            rows.append(make_unit(unit, state))
            bar.update(1)
    else:
        chunks = [units[i : i + CHUNK] for i in range(0, len(units), CHUNK)]
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_init, initargs=(loader, loader_kwargs)) as pool:
            futures = {pool.submit(_run_chunk, make_unit, c): len(c) for c in chunks}
            try:
                for future in cf.as_completed(futures):
                    rows += future.result()
                    bar.update(futures[future])
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    bar.close()
    return sorted(rows, key=lambda r: (SPLITS.index(r["split"]), r["index"]))


def units_for(counts: dict) -> list[tuple[str, int]]:
    return [(split, i) for split in SPLITS for i in range(counts[split])]


def cached(out_dir: Path, config: dict) -> bool:
    try:
        return (out_dir / "manifest.jsonl").is_file() and json.loads((out_dir / "config.json").read_text()) == config
    except (OSError, ValueError):
        return False


def start_fresh(out_dir: Path) -> None:
    """Remove an earlier, different corpus (manifest first, so no stale manifest survives)."""
    (out_dir / "manifest.jsonl").unlink(missing_ok=True)
    for split in SPLITS:
        shutil.rmtree(out_dir / split, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def finish(out_dir: Path, rows: list, config: dict, readme: str, start: float, progress: bool) -> Path:
    size = sum(p.stat().st_size for split in SPLITS for p in (out_dir / split).rglob("*.wav"))
    counts = {s: sum(1 for r in rows if r["split"] == s) for s in SPLITS}
    seconds = {s: round(sum(r["num_samples"] for r in rows if r["split"] == s) / rows[0]["sample_rate"] / 3600, 2)
               for s in SPLITS if counts[s]}
    readme += ("\n## Size\n\n" + ", ".join(f"{s} {counts[s]} mixtures ({seconds.get(s, 0)} h)" for s in SPLITS)
               + f"; {size / 1e6:.0f} MB of WAV.\n")
    (out_dir / "README.md").write_text(readme)
    (out_dir / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    manifest = write_manifest(out_dir / "manifest.jsonl", rows)  # last: its presence means complete
    if progress:
        print(f"{config['name']}: {len(rows)} mixtures, {size / 1e6:.0f} MB in {time.monotonic() - start:.0f} s "
              f"-> {manifest}")
    return manifest


# --- two-speaker mixtures ----------------------------------------------------------------------

def load_state(manifest, **extra):
    """A process's state: the speech bank and a cache of the current room's RIRs."""
    return {"bank": SpeechBank(manifest), "rirs": {}, **extra}


def cached_rirs(state: dict, key, compute):
    """RIRs of room `key`, computed once per process while consecutive mixtures share the room."""
    if key not in state["rirs"]:
        state["rirs"].clear()
        state["rirs"][key] = compute()
    return state["rirs"][key]


def draw_two_speakers(bank: SpeechBank, split: str, rng, sample_rate: int = SAMPLE_RATE):
    """One mixture's draws: two different speakers of `split`, an utterance of each, the SIR (dB,
    s1 over s2) and the mixture level (dBFS). Shared by the corpus and mixing on the fly."""
    speakers = [str(s) for s in rng.choice(bank.speakers(split, 2), size=2, replace=False)]
    utts = [bank.utterance(split, s, rng, sample_rate) for s in speakers]
    return speakers, utts, float(rng.uniform(*SIR_RANGE_DB)), float(rng.uniform(*MIX_RMS_RANGE_DB))


def set_levels(images, targets, sir: float, level: float):
    """(g, images, targets, mix): the two speakers' images and targets scaled to `sir` apart, and the
    common scale g that sets the mixture (mix = images[0] + images[1]) to `level` dBFS with nothing
    peaking above PEAK_MAX once multiplied by g."""
    gains = [10 ** ((sir / 2 - rms_db(images[0])) / 20), 10 ** ((-sir / 2 - rms_db(images[1])) / 20)]
    images = [g * x for g, x in zip(gains, images)]
    targets = [g * x for g, x in zip(gains, targets)]
    mix = images[0] + images[1]
    g = 10 ** ((level - rms_db(mix)) / 20)
    g *= anti_clip_scale(g * mix, *(g * x for x in images + targets))
    return g, images, targets, mix


def make_two_speaker_unit(unit: dict, state: dict) -> dict:
    """Draw, render and write one mixture; return its manifest row."""
    bank = state["bank"]
    split, i, seed, out_dir, reverberant = unit["split"], unit["index"], unit["seed"], Path(unit["out"]), unit["reverb"]
    sr = SAMPLE_RATE
    rng = np.random.default_rng(seed_key(seed, NAME, split, i))
    speakers, utts, sir, level = draw_two_speakers(bank, split, rng)
    n = min(len(u[0]) for u in utts)  # "min" mode
    dry = [u[0][:n] for u in utts]
    room = None
    if reverberant:
        r = i // ROOM_REUSE
        room_rng = np.random.default_rng(seed_key(seed, NAME, "room", split, r))
        room = draw_room(room_rng)
        mic = random_positions(room_rng, room["dims"], 1)
        srcs = random_positions(room_rng, room["dims"], 2, avoid=mic)
        rirs, direct = cached_rirs(state, (split, r), lambda: room_rirs(room, srcs, mic, sr))
        images = [convolve(x, rirs[k, 0]) for k, x in enumerate(dry)]
        targets = [convolve(x, direct[k, 0]) for k, x in enumerate(dry)]
        room.update({"sources": srcs.round(4).tolist(), "mic": mic[0].round(4).tolist(), "rir_seconds": RIR_SECONDS,
                     "room_index": r, "reuse": ROOM_REUSE})
    else:
        images = targets = dry
    g, images, targets, mix = set_levels(images, targets, sir, level)
    parts = [to_pcm(g * x) for x in images]
    name = f"{i:05d}.wav"
    rel = {"mix": f"{split}/mix/{name}", "s1": f"{split}/s1/{name}", "s2": f"{split}/s2/{name}"}
    write_pcm(out_dir / rel["mix"], parts[0] + parts[1], sr)
    for k, key in enumerate(("s1", "s2")):
        write_pcm(out_dir / rel[key], parts[k] if not reverberant else to_pcm(g * targets[k]), sr)
    row = {"path": rel["mix"], "sources": [rel["s1"], rel["s2"]], "split": split, "index": i, "speakers": speakers,
           "words": [u[1] for u in utts], "speech_clips": [u[2] for u in utts], "sir_db": round(sir, 3),
           "mixture_rms_db": round(rms_db(mix * g), 3), "gain": round(float(g), 6), "mode": "min",
           "num_samples": n, "duration": round(n / sr, 4), "sample_rate": sr, "seed": seed,
           "reverberant": reverberant, "room": room, "target": "direct_path" if reverberant else "dry"}
    if reverberant:
        row["images"] = [f"{split}/image1/{name}", f"{split}/image2/{name}"]
        for k in range(2):
            write_pcm(out_dir / row["images"][k], parts[k], sr)
    return row


def _make_units(units, out_dir, seed, reverberant):
    return [{"split": s, "index": i, "seed": seed, "out": str(out_dir), "reverb": reverberant} for s, i in units]


def _readme(name, config, reverberant) -> str:
    lines = [f"# {name}", "", f"Two-speaker mixtures, {SAMPLE_RATE} Hz, 16-bit PCM WAV, wsj0-2mix style \"min\" mode "
             f"(generator version {GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`).", "",
             f"Speakers are the voices of `{SPEECH_CORPUS}`, which is split by voice: no speaker is in two splits. "
             f"Each source is {WORDS_PER_UTTERANCE[0]}-{WORDS_PER_UTTERANCE[1]} word clips of one voice with "
             f"{GAP_S[0] * 1000:.0f}-{GAP_S[1] * 1000:.0f} ms gaps; relative level (sir_db, s1 over s2) uniform in "
             f"{SIR_RANGE_DB[0]:g}..{SIR_RANGE_DB[1]:g} dB; mixture RMS uniform in {MIX_RMS_RANGE_DB[0]:g}.."
             f"{MIX_RMS_RANGE_DB[1]:g} dBFS. Parts share one scale so that no file peaks above {PEAK_MAX}; "
             "the mixture is the integer sum of the 16-bit parts.", ""]
    if reverberant:
        lines += [f"Reverberant: one ShoeBox room per {ROOM_REUSE} mixtures (RT60 {RT60_RANGE[0]}-{RT60_RANGE[1]} s, "
                  f"RIRs cut at {RIR_SECONDS} s). `images` are the reverberant sources (mixture == image1 + image2); "
                  "`sources` (s1, s2) are the direct-path targets.", ""]
    lines += ["Manifest rows: path (mixture), sources, split, index, speakers, words, speech_clips, sir_db, "
              "mixture_rms_db, gain, mode, num_samples, duration, sample_rate, seed, reverberant, room, target"
              + (", images." if reverberant else ".")]
    return "\n".join(lines) + "\n"


def make_speech_mixtures(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2,
                         reverberant: bool = False, speech_manifest=None) -> Path:
    """Generate (or reuse) `<root>/speech-mixtures-2spk[-reverb]/`; return its manifest path.

    speech_manifest: a speech-commands-synth style manifest (default `<root>/speech-commands-synth`,
    made at `scale` when missing). Cached: returns at once when the manifest exists with the same
    config (seed, scale, generator version, speech manifest digest).
    """
    corpus_args.check_args(scale, seed, workers, SCALES)
    name = NAME_REVERB if reverberant else NAME
    out_dir = Path(root) / name
    speech = speech_manifest_path(root, scale, progress, speech_manifest)
    config = {"generator_version": GENERATOR_VERSION, "name": name, "seed": int(seed), "scale": scale,
              "sample_rate": SAMPLE_RATE, "speech_manifest": file_digest(speech), "reverberant": bool(reverberant)}
    if cached(out_dir, config):
        return out_dir / "manifest.jsonl"
    start = time.monotonic()
    start_fresh(out_dir)
    units = _make_units(units_for(SCALES[scale]), out_dir, int(seed), bool(reverberant))
    rows = run_units(make_two_speaker_unit, load_state, {"manifest": str(speech)}, units, workers=workers,
                     progress=progress, desc=name)
    return finish(out_dir, rows, config, _readme(name, config, reverberant), start, progress)


def make_speech_mixtures_reverb(root, *, seed: int = 0, scale: str = "full", progress: bool = True,
                                workers: int = 2, speech_manifest=None) -> Path:
    """The reverberant variant of make_speech_mixtures (registry entry speech-mixtures-2spk-reverb)."""
    return make_speech_mixtures(root, seed=seed, scale=scale, progress=progress, workers=workers, reverberant=True,
                                speech_manifest=speech_manifest)
