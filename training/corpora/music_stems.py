"""music-stems: short generated songs with four exact stems (bass, drums, chords, lead), FluidSynth.

Each song is seeded (song seed = seed * 1_000_003 + index): a key (12 tonics x major/minor), a
tempo (100-150 bpm), a four-chord progression (one chord per 4/4 bar), a bass line, a chord
accompaniment pattern, a lead melody (random walk on the scale, chord tones on strong beats) and a
drum groove on a 16-step grid (rock, four-on-the-floor, half-time, sixteenths, ride), with random
General MIDI programs per stem and a random drum kit on MIDI channel 10. The grooves are written
here; the Debian `mma` accompaniment generator is not used (see the report / README).

Rendering: every stem is its own MIDI track, so FluidSynth renders it alone and the stems are
exact. Songs are rendered in chunks of CHUNK_SONGS, one MIDI file per (stem, chunk), SLOT_SECONDS
apart (every note ends at SONG_SECONDS; an All-Sound-Off before the next slot), with the tiny MIDI
writer's variable-length numbers and the fluidsynth settings of instrument_notes (16 kHz, reverb
and chorus off). One tick is one millisecond and every slot starts on FluidSynth's 64-sample block
grid, so the corpus is byte-identical on every run.

Mixing: each stem is scaled to a seeded level (STEM_LEVELS_DB +- 3 dB RMS), then the song is scaled
down if the mixture would peak above PEAK; stems are rounded to the 16-bit grid (k / 32768) and
the mixture is the exact sum of the rounded stems, so mixture == sum(stems) sample for sample in
the WAV files. Splits by song seed: seed % 10 == 0 test, == 1 validation, the rest train.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

from training.corpora.corpus_args import check_args, is_cached, reset_corpus_dir
from training.corpora.instrument_notes import (GAIN, SOUNDFONT, TEMPO_US, TICKS_PER_QUARTER, _varlen, check_fluidsynth,
                                               render_midi)
from training.manifest import SPLITS, write_manifest
from zoo.errors import DataError

NAME = "music-stems"
GENERATOR_VERSION = 1
SAMPLE_RATE = 16000
STEMS = ("bass", "drums", "chords", "lead")
SONG_SECONDS = 6.0
SLOT_SECONDS = 8.0  # song + 2 s for releases to die out: 128000 samples, a whole number of 64-sample blocks
BARS = 4
TEMPO_RANGE = (100, 150)
FADE_SECONDS = 0.01
PEAK = 0.95
STEM_LEVELS_DB = {"bass": -21.0, "drums": -20.0, "chords": -22.0, "lead": -20.0}  # RMS dBFS before the peak guard
LEVEL_SPREAD_DB = 3.0
CHUNK_SONGS = 25
SCALES = {"full": 300, "tiny": 10}
MUSIC_KEYS = ("path", "sources", "split", "seed", "tempo", "key", "programs", "groove", "progression", "duration",
              "sample_rate", "engine")

CHANNELS = {"bass": 0, "drums": 9, "chords": 1, "lead": 2}  # channel 10 (index 9) is GM percussion
PROGRAMS = {  # 0-based GM programs; for drums the kit number (bank 128)
    "bass": (32, 33, 34, 35, 38),  # acoustic, finger, pick, fretless, synth bass 1
    "drums": (0, 8, 16, 25, 32),  # Standard, Room, Power, TR-808, Jazz kits
    "chords": (0, 1, 4, 5, 16, 24, 48),  # grand, bright piano, e-pianos, drawbar organ, nylon guitar, strings
    "lead": (11, 40, 56, 65, 71, 73, 80, 81),  # vibraphone, violin, trumpet, alto sax, clarinet, flute, square, saw
}
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS = {  # scale degrees (0-based), one chord per bar
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 3, 0, 4), (1, 4, 0, 0), (0, 2, 3, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (5, 6, 0, 0)),
}
# per bar: (onset beat, length in beats, chord-tone index: 0 root, 1 third, 2 fifth, 3 octave)
BASS_PATTERNS = {
    "quarters": tuple((b, 0.9, 0) for b in range(4)),
    "root_fifth": ((0, 1.9, 0), (2, 1.9, 2)),
    "eighths": tuple((b / 2, 0.45, 0) for b in range(8)),
    "syncopated": ((0, 0.9, 0), (1.5, 0.45, 0), (2, 0.9, 2), (3, 0.45, 3), (3.5, 0.45, 2)),
    "walking": ((0, 0.9, 0), (1, 0.9, 1), (2, 0.9, 2), (3, 0.9, 3)),
}
CHORD_PATTERNS = {  # (onset, length); "arpeggio" plays one chord tone per eighth instead of the triad
    "whole": ((0, 3.9),),
    "halves": ((0, 1.9), (2, 1.9)),
    "quarters": tuple((b, 0.8) for b in range(4)),
    "offbeats": tuple((b + 0.5, 0.4) for b in range(4)),
    "arpeggio": tuple((b / 2, 0.45) for b in range(8)),
}
LEAD_RHYTHMS = ((1, 1, 1, 1), (0.5, 0.5, 1, 2), (1.5, 0.5, 1, 1), (0.5,) * 8, (2, 1, 1), (1, 0.5, 0.5, 2),
                (0.5, 0.5, 0.5, 0.5, 1, 1))
# 16 steps per bar: drum -> steps (GM percussion keys)
KICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, RIDE, CRASH = 36, 38, 39, 42, 46, 51, 49
GROOVES = {
    "rock": {KICK: (0, 8, 10), SNARE: (4, 12), CLOSED_HAT: tuple(range(0, 16, 2))},
    "four_on_floor": {KICK: (0, 4, 8, 12), CLAP: (4, 12), CLOSED_HAT: (0, 4, 8, 12), OPEN_HAT: (2, 6, 10, 14)},
    "halftime": {KICK: (0, 3, 10), SNARE: (8,), CLOSED_HAT: tuple(range(0, 16, 2))},
    "sixteenths": {KICK: (0, 6, 8), SNARE: (4, 12), CLOSED_HAT: tuple(range(16))},
    "ride": {KICK: (0, 7, 8), SNARE: (4, 12), RIDE: tuple(range(0, 16, 2))},
}


def split_of(song_seed: int) -> str:
    return {0: "test", 1: "validation"}.get(song_seed % 10, "train")


def song_seed(seed: int, index: int) -> int:
    return int(seed) * 1_000_003 + int(index)


# --- composition -----------------------------------------------------------------------------------

def _chord_tones(tonic: int, mode: str, degree: int) -> list:
    """Pitch classes (semitones above C, may exceed 11) of the diatonic triad on `degree`, plus the octave."""
    scale = MODES[mode]
    tones = [tonic + scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
    return tones + [tones[0] + 12]


def _place(pitch: int, low: int, high: int) -> int:
    """`pitch` moved by octaves into [low, high)."""
    while pitch < low:
        pitch += 12
    while pitch >= high:
        pitch -= 12
    return pitch


def compose(song_seed_value: int) -> dict:
    """A song as plain data: meta (tempo, key, programs, ...) and per stem a list of notes
    (onset_ms, length_ms, pitch, velocity), every note inside [0, SONG_SECONDS)."""
    rng = np.random.default_rng(song_seed_value)
    tempo = int(rng.integers(TEMPO_RANGE[0], TEMPO_RANGE[1] + 1))
    tonic = int(rng.integers(12))
    mode = str(rng.choice(sorted(MODES)))
    progression = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    programs = {stem: int(rng.choice(PROGRAMS[stem])) for stem in STEMS}
    bass_pattern = str(rng.choice(sorted(BASS_PATTERNS)))
    chord_pattern = str(rng.choice(sorted(CHORD_PATTERNS)))
    groove = str(rng.choice(sorted(GROOVES)))
    beat_ms = 60000.0 / tempo
    end_ms = SONG_SECONDS * 1000.0
    notes = {stem: [] for stem in STEMS}

    def add(stem, beat, length, pitch, velocity):
        onset = beat * beat_ms
        if onset >= end_ms - 20:
            return
        length_ms = min(length * beat_ms, end_ms - onset)
        velocity = int(np.clip(velocity, 1, 127))
        notes[stem].append((int(round(onset)), max(1, int(round(length_ms))), int(pitch), velocity))

    scale_pitches = [p for p in range(40, 100) if (p - tonic) % 12 in MODES[mode]]
    lead_pitch = _place(tonic + 72, 67, 79)
    for bar, degree in enumerate(progression):
        tones = _chord_tones(tonic, mode, degree)
        b0 = 4 * bar
        root = _place(tones[0], 33, 45)
        for onset, length, tone in BASS_PATTERNS[bass_pattern]:
            add("bass", b0 + onset, length, root + (tones[tone] - tones[0]), 95 + rng.integers(-10, 11))
        triad = [_place(t, 55, 67) for t in tones[:3]]
        for i, (onset, length) in enumerate(CHORD_PATTERNS[chord_pattern]):
            velocity = 75 + rng.integers(-10, 11)
            if chord_pattern == "arpeggio":
                order = sorted(triad) + [sorted(triad)[1]]
                add("chords", b0 + onset, length, order[i % 4], velocity)
            else:
                for p in triad:
                    add("chords", b0 + onset, length, p, velocity)
        beat = 0.0
        for k, value in enumerate(LEAD_RHYTHMS[int(rng.integers(len(LEAD_RHYTHMS)))]):
            if k > 0 and rng.random() < 0.1:  # a rest, never on the bar's first note
                beat += value
                continue
            if beat in (0.0, 2.0):  # strong beats: the nearest chord tone
                candidates = [p for p in scale_pitches if (p - tones[0]) % 12 in {(t - tones[0]) % 12 for t in tones}]
            else:
                candidates = scale_pitches
            step = int(rng.integers(-3, 4))
            target = lead_pitch + 2 * step
            lead_pitch = min((p for p in candidates if 64 <= p <= 86), key=lambda p: (abs(p - target), p))
            add("lead", b0 + beat, 0.9 * value, lead_pitch, 90 + rng.integers(-12, 13))
            beat += value
        hits = {drum: list(steps) for drum, steps in GROOVES[groove].items()}
        if rng.random() < 0.5:  # ghost kick
            hits.setdefault(KICK, []).append(int(rng.choice([3, 11, 14])))
        if bar == 0 and rng.random() < 0.6:
            hits[CRASH] = [0]
        if bar == BARS - 1 and rng.random() < 0.5:  # snare fill
            hits.setdefault(SNARE, [])
            hits[SNARE] = sorted(set(hits[SNARE]) | {12, 13, 14, 15})
        for drum, steps in sorted(hits.items()):
            for s in sorted(set(steps)):
                accent = 15 if s % 4 == 0 else 0
                add("drums", b0 + s / 4, 0.25, drum, 85 + accent + rng.integers(-12, 13))
    levels = {stem: STEM_LEVELS_DB[stem] + float(rng.uniform(-LEVEL_SPREAD_DB, LEVEL_SPREAD_DB)) for stem in STEMS}
    meta = {"tempo": tempo, "key": f"{TONICS[tonic]} {mode}", "programs": programs, "groove": groove,
            "bass_pattern": bass_pattern, "chord_pattern": chord_pattern, "progression": list(progression),
            "levels_db": {k: round(v, 2) for k, v in levels.items()}}
    return {"meta": meta, "notes": notes}


# --- MIDI and rendering ----------------------------------------------------------------------------

def stem_midi_bytes(stem: str, songs: list) -> bytes:
    """Type-0 MIDI of one stem for consecutive songs, song j starting at j * SLOT_SECONDS (1 tick = 1 ms)."""
    channel = CHANNELS[stem]
    slot = int(round(SLOT_SECONDS * 1000))
    events = []  # (tick, order, bytes): note-offs sort before note-ons at the same tick
    for j, song in enumerate(songs):
        start = j * slot
        events.append((start, 0, bytes([0xC0 | channel, song["meta"]["programs"][stem]])))
        for onset, length, pitch, velocity in song["notes"][stem]:
            events.append((start + onset, 2, bytes([0x90 | channel, pitch, velocity])))
            events.append((start + onset + length, 1, bytes([0x80 | channel, pitch, 0])))
        events.append((start + slot - 100, 1, bytes([0xB0 | channel, 120, 0])))  # All Sound Off before the next song
    track = _varlen(0) + bytes([0xFF, 0x51, 3]) + TEMPO_US.to_bytes(3, "big")
    now = 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        track += _varlen(tick - now) + data
        now = tick
    track += _varlen(len(songs) * slot - now) + bytes([0xFF, 0x2F, 0])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def render_stem(stem: str, songs: list, soundfont, workdir, tag: str) -> np.ndarray:
    """float32 [len(songs), SONG_SECONDS * SAMPLE_RATE] mono renders of one stem of `songs`."""
    mono = render_midi(stem_midi_bytes(stem, songs), soundfont, workdir, f"{tag}_{stem}")
    n, step = int(round(SONG_SECONDS * SAMPLE_RATE)), int(round(SLOT_SECONDS * SAMPLE_RATE))
    mono = np.pad(mono, (0, max(0, len(songs) * step - len(mono))))
    return np.stack([mono[j * step:j * step + n] for j in range(len(songs))])


def mix_song(stems: np.ndarray, levels_db: dict) -> tuple:
    """(stems f32[4, T] on the 16-bit grid, mixture f32[T] = their exact sum, gains f64[4])."""
    n_fade = int(round(FADE_SECONDS * SAMPLE_RATE))
    fade = np.ones(stems.shape[1])
    fade[-n_fade:] = np.linspace(1.0, 0.0, n_fade)
    gains = np.zeros(len(STEMS))
    for i, stem in enumerate(STEMS):
        rms = float(np.sqrt(np.mean(np.square(stems[i], dtype=np.float64))))
        if rms < 1e-5:
            raise DataError(f"the {stem} stem rendered silent", received=f"RMS {rms:.2e}", expected="RMS >= 1e-5",
                            fix="check the soundfont has the stem's programs")
        gains[i] = 10.0 ** (levels_db[stem] / 20.0) / rms
    scaled = stems.astype(np.float64) * gains[:, None] * fade
    peak = float(np.abs(scaled.sum(axis=0)).max())
    if peak > PEAK:
        scaled *= PEAK / peak
        gains *= PEAK / peak
    grid = np.round(scaled * 32768.0) / 32768.0  # what a 16-bit WAV holds exactly
    return grid.astype(np.float32), grid.sum(axis=0).astype(np.float32), gains


# --- corpus ----------------------------------------------------------------------------------------

def _config(seed, scale, soundfont) -> dict:
    return {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
            "songs": SCALES[scale], "sample_rate": SAMPLE_RATE, "soundfont": Path(soundfont).name,
            "song_seconds": SONG_SECONDS, "gain": GAIN, "stems": list(STEMS), "levels_db": STEM_LEVELS_DB,
            "programs": {k: list(v) for k, v in PROGRAMS.items()}, "grooves": sorted(GROOVES)}


def _readme(config: dict, rows: list) -> str:
    counts = {s: sum(1 for r in rows if r["split"] == s) for s in SPLITS}
    grooves = {g: sum(1 for r in rows if r["groove"] == g) for g in sorted(GROOVES)}
    lines = [f"# {NAME}", "",
             f"{len(rows)} generated songs of {SONG_SECONDS:g} s ({BARS} bars of 4/4 at {TEMPO_RANGE[0]}-"
             f"{TEMPO_RANGE[1]} bpm, cut at {SONG_SECONDS:g} s), {SAMPLE_RATE} Hz mono 16-bit PCM WAV, with four exact "
             f"stems in the order {', '.join(STEMS)}. Every stem is rendered alone by FluidSynth from "
             f"{config['soundfont']} (reverb and chorus off) from MIDI written by the generator; the mixture is "
             "the sample-exact sum of the stem files.", "",
             f"Generator version {GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`. Song i has "
             "seed `seed * 1000003 + i`, which draws key, tempo, progression, patterns, programs and stem levels "
             f"(RMS {STEM_LEVELS_DB} dBFS +- {LEVEL_SPREAD_DB:g} dB, scaled down together when the mixture would "
             f"peak above {PEAK}).", "",
             f"Splits by song seed (seed % 10: 0 test, 1 validation, else train): train {counts['train']}, "
             f"validation {counts['validation']}, test {counts['test']}.", "",
             "Grooves (drums on MIDI channel 10, written by the generator, not by `mma`): " +
             ", ".join(f"{g} {n}" for g, n in grooves.items()) + ".", "",
             "GM programs drawn per song: " + "; ".join(f"{k} {list(v)}" for k, v in PROGRAMS.items()) +
             " (drums: kit numbers of bank 128).", "",
             "## Manifest", "",
             "`manifest.jsonl`: path (mixture), sources (bass, drums, chords, lead stem paths), split, seed (song "
             "seed), tempo (bpm), key, programs (stem -> GM program / kit), groove, progression (scale degrees, one "
             "per bar), bass_pattern, chord_pattern, gains (applied to the FluidSynth renders), duration (s), "
             "sample_rate, engine.", "",
             "## Sources and licenses", "",
             "- soundfont: FluidR3_GM by Frank Wen (Debian fluid-soundfont-gm; MIT license)",
             "- synthesizer: FluidSynth (LGPL-2.1), used as a tool",
             "- music: generated by training/corpora/music_stems.py (no recorded material)"]
    return "\n".join(lines) + "\n"


def make_music_stems(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2,
                     soundfont=None) -> Path:
    """Generate (or reuse) the corpus under `<root>/music-stems/`; return its manifest path.

    Cached: returns at once when the manifest exists with the same config. `workers` fluidsynth
    processes run side by side; the output does not depend on it.
    """
    from tqdm.auto import tqdm

    from zoo.audio import write_audio

    check_args(scale, seed, workers, SCALES)
    soundfont = check_fluidsynth(SOUNDFONT if soundfont is None else soundfont)
    out_dir = Path(root) / NAME
    manifest, config_path = out_dir / "manifest.jsonl", out_dir / "config.json"
    config = _config(seed, scale, soundfont)
    if is_cached(out_dir, config):
        return manifest
    start = time.monotonic()
    reset_corpus_dir(out_dir)
    seeds = [song_seed(seed, i) for i in range(SCALES[scale])]
    songs = [compose(s) for s in seeds]
    chunks = [list(range(i, min(i + CHUNK_SONGS, len(songs)))) for i in range(0, len(songs), CHUNK_SONGS)]
    bar = tqdm(total=len(songs), desc=NAME, unit="song", disable=not progress)
    rows = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".render-") as work, \
            cf.ThreadPoolExecutor(max_workers=workers) as pool:  # fluidsynth is a subprocess: threads suffice
        futures = [{stem: pool.submit(render_stem, stem, [songs[i] for i in chunk], soundfont, work, f"chunk{c}")
                    for stem in STEMS} for c, chunk in enumerate(chunks)]
        for chunk, stem_futures in zip(chunks, futures):
            renders = {stem: f.result() for stem, f in stem_futures.items()}
            for j, i in enumerate(chunk):
                meta = songs[i]["meta"]
                stems, mixture, gains = mix_song(np.stack([renders[s][j] for s in STEMS]), meta["levels_db"])
                split = split_of(seeds[i])
                rel = f"audio/{split}/song{i:04d}"
                for stem, audio in zip(STEMS, stems):
                    write_audio(out_dir / f"{rel}_{stem}.wav", audio, SAMPLE_RATE)
                write_audio(out_dir / f"{rel}_mix.wav", mixture, SAMPLE_RATE)
                rows.append({"path": f"{rel}_mix.wav", "sources": [f"{rel}_{s}.wav" for s in STEMS], "split": split,
                             "seed": seeds[i], "tempo": meta["tempo"], "key": meta["key"], "programs": meta["programs"],
                             "groove": meta["groove"], "progression": meta["progression"],
                             "bass_pattern": meta["bass_pattern"], "chord_pattern": meta["chord_pattern"],
                             "gains": [round(float(g), 5) for g in gains], "duration": SONG_SECONDS,
                             "sample_rate": SAMPLE_RATE, "engine": "fluidsynth"})
                bar.update(1)
    bar.close()
    (out_dir / "README.md").write_text(_readme(config, rows))
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    write_manifest(manifest, rows)  # last: its presence means the corpus is complete
    if progress:
        print(f"{NAME}: {len(rows)} songs in {time.monotonic() - start:.0f} s -> {manifest}")
    return manifest
