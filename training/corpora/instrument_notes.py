"""instrument-notes: single notes of eight General MIDI instruments rendered with FluidSynth.

Each clip is one note: onset at 0, key released at NOTE_SECONDS, cut at CLIP_SECONDS (1 s at
16 kHz, 16-bit PCM WAV; the last FADE_SECONDS fade out so a ringing release does not end in a
click). Full scale: 8 instruments x MIDI pitches 48-72 x velocities 40/60/80/100/120 = 1000 notes.

Rendering: one MIDI file per instrument (a tiny type-0 writer below: program change, then the
notes one after another, ONSET_SPACING apart so every release has died out), rendered by the
`fluidsynth` command line at 16 kHz with reverb and chorus off (both are effects of the synth,
not of the instrument, and would smear the notes into each other), then cut at the known onsets
and mixed to mono. FluidSynth is deterministic and the onsets fall on its 64-sample block grid,
so the corpus is byte-identical on every run; the seed is recorded but nothing is random.
Soundfont: FluidR3_GM.sf2 of the Debian package fluid-soundfont-gm (MIT license), loaded from
SOUNDFONT unless `soundfont` is given.

Splits are by pitch, the same for every instrument and velocity: test pitches TEST_PITCHES,
validation pitches VALIDATION_PITCHES, the rest train. A model is thus judged on pitches it
never heard, and every held-out pitch exists for all instruments (timbre morphs between two
instruments at one test pitch compare like with like).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from training.corpora.corpus_args import check_args, is_cached, reset_corpus_dir
from training.manifest import SPLITS, write_manifest
from zoo.errors import DataError

NAME = "instrument-notes"
GENERATOR_VERSION = 1
SAMPLE_RATE = 16000
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"  # Debian fluid-soundfont-gm
CLIP_SECONDS = 1.0
NOTE_SECONDS = 0.8  # key down; the release sounds for the rest of the clip
FADE_SECONDS = 0.01
ONSET_SPACING = 2.0  # s between onsets in a render: 32000 samples, a whole number of 64-sample blocks
GAIN = 0.8  # fluidsynth -g: the loudest notes (velocity 120) peak near 0.5
TICKS_PER_QUARTER = 1000
TEMPO_US = 1_000_000  # one quarter per second: one tick per millisecond
TEST_PITCHES = (51, 58, 65)
VALIDATION_PITCHES = (54, 68)
NOTE_KEYS = ("path", "label", "split", "instrument", "program", "pitch", "velocity", "duration", "sample_rate",
             "seed", "engine", "peak")

# name -> General MIDI program (0-based)
INSTRUMENTS = {"piano": 0, "organ": 19, "guitar": 24, "bass": 33, "violin": 40, "trumpet": 56, "clarinet": 71,
               "flute": 73}
GM_NAMES = {0: "Acoustic Grand Piano", 19: "Church Organ", 24: "Acoustic Guitar (nylon)", 33: "Electric Bass (finger)",
            40: "Violin", 56: "Trumpet", 71: "Clarinet", 73: "Flute"}


@dataclasses.dataclass(frozen=True)
class Scale:
    instruments: tuple
    pitches: tuple
    velocities: tuple


SCALES = {
    "full": Scale(tuple(INSTRUMENTS), tuple(range(48, 73)), (40, 60, 80, 100, 120)),
    "tiny": Scale(("piano", "flute"), (54, 58, 60, 62, 65), (90,)),
}


def split_of(pitch: int) -> str:
    if pitch in TEST_PITCHES:
        return "test"
    return "validation" if pitch in VALIDATION_PITCHES else "train"


# --- a minimal Standard MIDI File writer ---------------------------------------------------------

def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def midi_bytes(program: int, notes, *, channel: int = 0) -> bytes:
    """A type-0 MIDI file: tempo TEMPO_US, program change, then each (pitch, velocity) of `notes`
    held NOTE_SECONDS with onsets ONSET_SPACING apart, the first at time 0."""
    if not 0 <= program < 128 or not 0 <= channel < 16 or channel == 9:  # channel 10 is drums
        raise DataError("bad MIDI program or channel", received=f"program {program}, channel {channel}",
                        expected="program 0-127 and a melodic channel (not 9)", fix="use a GM program number")
    hold = int(round(NOTE_SECONDS * 1000))
    rest = int(round(ONSET_SPACING * 1000)) - hold
    track = _varlen(0) + bytes([0xFF, 0x51, 3]) + TEMPO_US.to_bytes(3, "big")
    track += _varlen(0) + bytes([0xC0 | channel, program])
    for i, (pitch, velocity) in enumerate(notes):
        if not (0 <= pitch < 128 and 1 <= velocity < 128):
            raise DataError("bad MIDI note", received=f"pitch {pitch}, velocity {velocity}",
                            expected="pitch 0-127, velocity 1-127", fix="check the scale's pitches and velocities")
        track += _varlen(0 if i == 0 else rest) + bytes([0x90 | channel, pitch, velocity])
        track += _varlen(hold) + bytes([0x80 | channel, pitch, 0])
    track += _varlen(rest) + bytes([0xFF, 0x2F, 0])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def check_fluidsynth(soundfont) -> Path:
    if shutil.which("fluidsynth") is None:
        raise DataError("fluidsynth is not installed", received="no `fluidsynth` on PATH",
                        expected="the Debian package fluidsynth", fix="sudo apt-get install fluidsynth")
    path = Path(soundfont)
    if not path.is_file():
        raise DataError("soundfont not found", received=str(path), expected="an .sf2 file",
                        fix="sudo apt-get install fluid-soundfont-gm (or pass soundfont=...)")
    return path


def render_midi(midi: bytes, soundfont, workdir, stem: str) -> np.ndarray:
    """Mono float32 render of a MIDI file's bytes by the fluidsynth CLI (no reverb or chorus, GAIN,
    SAMPLE_RATE); the temporary <stem>.mid / .wav in `workdir` are removed."""
    import soundfile as sf

    workdir = Path(workdir)
    mid, wav = workdir / f"{stem}.mid", workdir / f"{stem}.wav"
    mid.write_bytes(midi)
    cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", str(GAIN), "-r", str(SAMPLE_RATE),
           "-T", "wav", "-O", "s16", "-F", str(wav), str(soundfont), str(mid)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not wav.exists():
        raise DataError("fluidsynth failed", received=(proc.stderr or proc.stdout).strip()[-300:],
                        expected="a rendered WAV", fix="run the command by hand: " + " ".join(cmd[:-2]))
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    mid.unlink()
    wav.unlink()
    if sr != SAMPLE_RATE:
        raise DataError("fluidsynth rendered at another rate", received=f"{sr} Hz", expected=f"{SAMPLE_RATE} Hz",
                        fix="use a fluidsynth that honours -r")
    return audio.mean(axis=1)


def render_notes(program: int, notes, soundfont, workdir) -> np.ndarray:
    """float32 [len(notes), CLIP_SECONDS * SAMPLE_RATE] mono clips of `notes` on GM `program`."""
    mono = render_midi(midi_bytes(program, notes), soundfont, workdir, f"program{program}")
    clip, step = int(round(CLIP_SECONDS * SAMPLE_RATE)), int(round(ONSET_SPACING * SAMPLE_RATE))
    mono = np.pad(mono, (0, max(0, (len(notes) - 1) * step + clip - len(mono))))
    fade = np.ones(clip, np.float32)
    n_fade = int(round(FADE_SECONDS * SAMPLE_RATE))
    fade[-n_fade:] = np.linspace(1.0, 0.0, n_fade, dtype=np.float32)
    clips = np.stack([mono[i * step:i * step + clip] * fade for i in range(len(notes))])
    return clips


# --- corpus ----------------------------------------------------------------------------------------

def _config(seed, scale, soundfont) -> dict:
    return {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
            "sample_rate": SAMPLE_RATE, "soundfont": Path(soundfont).name, "clip_seconds": CLIP_SECONDS,
            "note_seconds": NOTE_SECONDS, "gain": GAIN, "test_pitches": list(TEST_PITCHES),
            "validation_pitches": list(VALIDATION_PITCHES), "instruments": list(SCALES[scale].instruments),
            "pitches": list(SCALES[scale].pitches), "velocities": list(SCALES[scale].velocities)}


def _readme(config: dict, rows: list[dict]) -> str:
    scale = SCALES[config["scale"]]
    lines = [f"# {NAME}", "", f"Single notes rendered with FluidSynth from {config['soundfont']} (reverb and chorus off), "
             f"{SAMPLE_RATE} Hz mono 16-bit PCM WAV, {CLIP_SECONDS:g} s per note (key held {NOTE_SECONDS:g} s, "
             f"then the release; the last {FADE_SECONDS * 1000:g} ms fade out).", "",
             f"Generator version {GENERATOR_VERSION}, seed {config['seed']} (recorded; rendering is deterministic), "
             f"scale `{config['scale']}`: pitches {min(scale.pitches)}-{max(scale.pitches)}, velocities "
             f"{list(scale.velocities)}.", "",
             f"Split by pitch for every instrument: test pitches {list(TEST_PITCHES)}, validation pitches "
             f"{list(VALIDATION_PITCHES)}, the rest train.", "",
             "| instrument | GM program | train | validation | test |", "|---|---|---|---|---|"]
    for name in scale.instruments:
        counts = [sum(1 for r in rows if r["label"] == name and r["split"] == s) for s in SPLITS]
        lines.append(f"| {name} | {INSTRUMENTS[name]} ({GM_NAMES[INSTRUMENTS[name]]}) | " +
                     " | ".join(map(str, counts)) + " |")
    lines += ["", "## Manifest", "", "`manifest.jsonl`: path, label (= instrument), split, instrument, program "
              "(0-based GM), pitch (MIDI), velocity, duration (s), sample_rate, seed, engine, peak (max |x|).", "",
              "## Sources and licenses", "",
              "- soundfont: FluidR3_GM by Frank Wen (Debian fluid-soundfont-gm; MIT license)",
              "- synthesizer: FluidSynth (LGPL-2.1), used as a tool"]
    return "\n".join(lines) + "\n"


def make_instrument_notes(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2,
                          soundfont=None) -> Path:
    """Generate (or reuse) the corpus under `<root>/instrument-notes/`; return its manifest path.

    Cached: returns at once when the manifest exists with the same config. `workers` fluidsynth
    processes (one per instrument) run side by side; the output does not depend on it.
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
    spec = SCALES[scale]
    notes = [(p, v) for p in spec.pitches for v in spec.velocities]
    bar = tqdm(total=len(spec.instruments) * len(notes), desc=NAME, unit="note", disable=not progress)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".render-") as work, \
            cf.ThreadPoolExecutor(max_workers=workers) as pool:  # fluidsynth is a subprocess: threads suffice
        futures = [pool.submit(render_notes, INSTRUMENTS[name], notes, soundfont, work) for name in spec.instruments]
        for name, future in zip(spec.instruments, futures):
            clips = future.result()
            for (pitch, velocity), clip in zip(notes, clips):
                peak = float(np.abs(clip).max())
                if peak >= 0.999 or peak < 1e-3:
                    raise DataError(f"{name} pitch {pitch} velocity {velocity} rendered badly",
                                    received=f"peak {peak:.4f}", expected="0.001 <= peak < 0.999",
                                    fix="check the soundfont; lower GAIN if notes clip")
                split = split_of(pitch)
                rel = f"audio/{split}/{name}/{name}_{pitch:03d}_{velocity:03d}.wav"
                write_audio(out_dir / rel, clip, SAMPLE_RATE)
                rows.append({"path": rel, "label": name, "split": split, "instrument": name,
                             "program": INSTRUMENTS[name], "pitch": pitch, "velocity": velocity,
                             "duration": CLIP_SECONDS, "sample_rate": SAMPLE_RATE, "seed": int(seed),
                             "engine": "fluidsynth", "peak": round(peak, 5)})
                bar.update(1)
    bar.close()
    (out_dir / "README.md").write_text(_readme(config, rows))
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    write_manifest(manifest, rows)  # last: its presence means the corpus is complete
    if progress:
        print(f"{NAME}: {len(rows)} notes in {time.monotonic() - start:.0f} s -> {manifest}")
    return manifest
