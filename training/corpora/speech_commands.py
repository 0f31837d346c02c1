"""Manifest for a local copy of the real Speech Commands v2 data set (Warden 2018), in its own layout.

    <root>/<word>/<speaker hash>_nohash_<n>.wav
    <root>/validation_list.txt   paths relative to <root>, one per line
    <root>/testing_list.txt
    <root>/_background_noise_/*.wav

Rows follow the clip schema of training/manifest.py: speaker is the hash, split comes from the
list files (everything else is train), engine is "recorded". Silence clips are cut from the
background noise files as consecutive 1 s windows and written next to the manifest; each noise
file goes wholly to one split.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from training.manifest import write_manifest
from zoo.errors import DataError
from zoo.families.recognition.kws_protocol import CLIP_SAMPLES, SAMPLE_RATE, SILENCE

NOISE_FOLDER = "_background_noise_"
LIST_FILES = {"validation": "validation_list.txt", "test": "testing_list.txt"}
ENGINE = "recorded"


def speaker_of(filename: str) -> str:
    """`0a7c2a8d_nohash_0.wav` -> `0a7c2a8d` (the data set's anonymised speaker id)."""
    stem = Path(filename).stem
    return stem.split("_nohash_")[0] if "_nohash_" in stem else stem


def _read_list(root: Path, name: str) -> set[str]:
    path = root / name
    if not path.is_file():
        raise DataError(f"Speech Commands split list {name} is missing", received=f"no {path}",
                        expected="validation_list.txt and testing_list.txt next to the word folders",
                        fix="point root at the extracted speech_commands_v0.02 folder (the lists ship with it)")
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines() if line.strip()}


def noise_split(names: list[str]) -> dict[str, str]:
    """Whole noise files to splits: in hash order, the first to validation, the second to test, the rest train."""
    order = sorted(names, key=lambda n: hashlib.sha256(n.encode("utf-8")).hexdigest())
    splits = {}
    for i, name in enumerate(order):
        splits[name] = ("validation" if i == 0 else "test" if i == 1 else "train") if len(order) >= 3 else "train"
    return splits


def speech_commands_manifest(root, out_path, *, silence_windows: bool = True) -> Path:
    """Write a JSONL manifest of a Speech Commands v2 folder to `out_path`; return `out_path`.

    Paths in the manifest are relative to `out_path`'s folder. Silence windows are written to
    `<out folder>/silence/` (skip them with silence_windows=False).
    """
    import soundfile as sf

    from zoo.audio import read_audio, write_audio

    root, out_path = Path(root), Path(out_path)
    if not root.is_dir():
        raise DataError("Speech Commands folder not found", received=str(root),
                        expected="the extracted speech_commands_v0.02 folder",
                        fix="download and extract it yourself, then pass its path")
    lists = {split: _read_list(root, name) for split, name in LIST_FILES.items()}
    overlap = lists["validation"] & lists["test"]
    if overlap:
        raise DataError("files listed for both validation and test", received=sorted(overlap)[:5],
                        expected="disjoint validation_list.txt and testing_list.txt", fix="restore the original lists")
    base = out_path.parent
    base.mkdir(parents=True, exist_ok=True)
    rows = []
    words = sorted(p for p in root.iterdir() if p.is_dir() and p.name != NOISE_FOLDER and not p.name.startswith("."))
    for folder in words:
        for wav in sorted(folder.glob("*.wav")):
            rel = f"{folder.name}/{wav.name}"
            split = "validation" if rel in lists["validation"] else "test" if rel in lists["test"] else "train"
            try:
                info = sf.info(str(wav))
            except RuntimeError as e:
                raise DataError(f"unreadable audio file {rel}", received=str(e).splitlines()[0],
                                expected="a 16-bit PCM WAV file", fix="re-extract the data set") from None
            rows.append({"path": Path(os.path.relpath(wav, base)).as_posix(), "label": folder.name, "split": split,
                         "speaker": speaker_of(wav.name), "engine": ENGINE,
                         "duration": round(info.frames / info.samplerate, 6), "sample_rate": int(info.samplerate),
                         "rate": None, "pitch": None, "seed": None})
    if not rows:
        raise DataError("no word clips in the Speech Commands folder", received=str(root),
                        expected="<root>/<word>/<hash>_nohash_<n>.wav files", fix="check the folder layout")
    listed = {r["path"] for r in rows}
    missing = [p for s in lists.values() for p in s if Path(os.path.relpath(root / p, base)).as_posix() not in listed]
    if missing:
        raise DataError(f"{len(missing)} listed files are not in the folder", received=sorted(missing)[:5],
                        expected="every path of the split lists present", fix="re-extract the data set")
    noise_dir = root / NOISE_FOLDER
    if silence_windows and noise_dir.is_dir():
        noises = sorted(noise_dir.glob("*.wav"))
        splits = noise_split([p.stem for p in noises])
        for path in noises:
            x, _ = read_audio(path, sample_rate=SAMPLE_RATE)
            for k in range(len(x) // CLIP_SAMPLES):
                rel = Path("silence") / f"{path.stem}_{k:04d}.wav"
                write_audio(base / rel, np.asarray(x[k * CLIP_SAMPLES:(k + 1) * CLIP_SAMPLES]), SAMPLE_RATE)
                rows.append({"path": rel.as_posix(), "label": SILENCE, "split": splits[path.stem],
                             "speaker": f"noise:{path.stem}", "engine": "background-noise",
                             "duration": CLIP_SAMPLES / SAMPLE_RATE, "sample_rate": SAMPLE_RATE, "rate": None,
                             "pitch": None, "seed": None, "source": f"{NOISE_FOLDER}/{path.name}",
                             "offset": k * CLIP_SAMPLES})
    return write_manifest(out_path, rows)
