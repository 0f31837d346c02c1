"""Corpus names -> generators, for `zoo data make NAME` and for `zoo train` (which makes a missing corpus)."""

from __future__ import annotations

import importlib
from pathlib import Path

from zoo.errors import DataError

CORPORA = {
    "speech-commands-synth": (
        "training.corpora.speech_commands_synth:make_speech_commands_synth",
        "35 Speech Commands words + silence, spoken by espeak-ng/flite/festival/piper voices, split by voice",
    ),
}


def corpus_names() -> list:
    return sorted(CORPORA)


def manifest_path(name: str, root) -> Path:
    return Path(root) / name / "manifest.jsonl"


def make_corpus(name: str, root, *, seed: int = 0, scale: str = "full", progress: bool = True) -> Path:
    if name not in CORPORA:
        raise DataError(f"unknown corpus {name!r}", received=name, expected=", ".join(corpus_names()),
                        fix="run `zoo data list` to see the corpora")
    module, attr = CORPORA[name][0].split(":")
    maker = getattr(importlib.import_module(module), attr)
    return Path(maker(Path(root), seed=seed, scale=scale, progress=progress))
