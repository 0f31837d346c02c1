"""Manifest for a local copy of LibriSpeech (Panayotov et al. 2015) in its own folder layout.

    <root>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac
    <root>/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   "<utterance id> <TRANSCRIPT>" lines

`root` is the folder holding the subset folders (LibriSpeech/ of the archives). Rows follow the
sentence schema of speech_sentences_synth (SENTENCE_KEYS): text normalised to lowercase letters,
apostrophe and space, speaker the reader id, engine "recorded", no timings. Splits come from
the subset names: train-* -> train, dev-* -> validation, test-* -> test.
"""

from __future__ import annotations

import os
from pathlib import Path

from training.manifest import write_manifest
from zoo.errors import DataError

ENGINE = "recorded"
SUBSET_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def subset_split(subset: str) -> str:
    """'train-clean-100' -> 'train', 'dev-other' -> 'validation', 'test-clean' -> 'test'."""
    split = SUBSET_SPLITS.get(subset.split("-")[0])
    if split is None:
        raise DataError(f"unknown LibriSpeech subset {subset!r}", received=subset,
                        expected="a name starting with train-, dev- or test- (e.g. dev-clean)",
                        fix="point root at the folder that holds the subset folders")
    return split


def _read_transcripts(path: Path) -> dict[str, str]:
    texts = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt, _, text = line.strip().partition(" ")
        if not text.strip():
            raise DataError(f"{path.name} line {number} has no transcript", received=line.strip()[:80],
                            expected="'<speaker>-<chapter>-<utterance> TRANSCRIPT'", fix="restore the file")
        texts[utt] = text
    return texts


def librispeech_rows(root, *, subsets=None, relative_to=None) -> list[dict]:
    """Manifest rows for the subsets under `root` (all of them by default), sorted by path.

    Paths are relative to `relative_to` (default `root`). Raises DataError naming the file for a
    missing or incomplete transcript file, a transcript without audio, audio without a
    transcript, or unreadable audio.
    """
    import soundfile as sf

    from zoo.text.normalize import normalize_text

    root = Path(root)
    base = Path(relative_to) if relative_to is not None else root
    if not root.is_dir():
        raise DataError("LibriSpeech folder not found", received=str(root),
                        expected="the LibriSpeech/ folder holding subsets such as dev-clean/",
                        fix="download and extract the subsets yourself, then pass that folder")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    subsets = found if subsets is None else [subsets] if isinstance(subsets, str) else list(subsets)
    missing = [s for s in subsets if s not in found]
    if missing or not subsets:
        raise DataError("LibriSpeech subsets not found", received=missing or str(root),
                        expected=f"subset folders under {root} (found: {found})",
                        fix="pass subsets that exist, e.g. subsets=['dev-clean']")
    rows = []
    for subset in subsets:
        split = subset_split(subset)
        for chapter in sorted(p for p in (root / subset).glob("*/*") if p.is_dir()):
            speaker, chapter_id = chapter.parent.name, chapter.name
            transcript = chapter / f"{speaker}-{chapter_id}.trans.txt"
            audio = {p.name[: -len(".flac")]: p for p in chapter.glob("*.flac")}
            if not transcript.is_file():
                if not audio:
                    continue
                raise DataError(f"missing transcript {transcript.relative_to(root)}", received=f"no {transcript.name}",
                                expected=f"a transcript file next to the {len(audio)} FLAC files",
                                fix="re-extract the subset")
            texts = _read_transcripts(transcript)
            for utt in sorted(set(texts) | set(audio)):
                if utt not in audio:
                    raise DataError(f"missing audio {subset}/{speaker}/{chapter_id}/{utt}.flac",
                                    received=f"{transcript.name} lists {utt}", expected="its FLAC file",
                                    fix="re-extract the subset")
                if utt not in texts:
                    raise DataError(f"no transcript for {audio[utt].relative_to(root)}",
                                    received=f"{utt} not in {transcript.name}", expected="one line per FLAC file",
                                    fix="restore the transcript file")
                try:
                    info = sf.info(str(audio[utt]))
                except RuntimeError as e:
                    raise DataError(f"unreadable audio file {audio[utt].relative_to(root)}",
                                    received=str(e).splitlines()[0], expected="a FLAC file",
                                    fix="re-extract the subset") from None
                rows.append({"path": Path(os.path.relpath(audio[utt], base)).as_posix(),
                             "text": normalize_text(texts[utt]), "split": split, "speaker": speaker,
                             "engine": ENGINE, "duration": round(info.frames / info.samplerate, 6),
                             "sample_rate": int(info.samplerate), "words": None, "phonemes": None,
                             "timings": None, "seed": None, "subset": subset, "chapter": chapter_id, "utterance": utt})
    if not rows:
        raise DataError("no LibriSpeech utterances found", received=str(root),
                        expected="<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac files",
                        fix="check the folder layout")
    return sorted(rows, key=lambda r: r["path"])


def librispeech_manifest(root, out_path, *, subsets=None) -> Path:
    """Write the JSONL manifest of `librispeech_rows` to `out_path` (paths relative to its folder)."""
    out_path = Path(out_path)
    return write_manifest(out_path, librispeech_rows(root, subsets=subsets, relative_to=out_path.parent))
