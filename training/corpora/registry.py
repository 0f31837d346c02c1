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
    "speech-sentences-synth": (
        "training.corpora.speech_sentences_synth:make_speech_sentences_synth",
        "spoken commands, numbers, dates, times and free text with word/phoneme timings, same voices, split by voice",
    ),
    "speech-mixtures-2spk": (
        "training.corpora.speech_mixtures:make_speech_mixtures",
        "two-speaker mixtures (wsj0-2mix style, 8 kHz, min mode) of speech-commands-synth voices, split by voice",
    ),
    "speech-mixtures-2spk-reverb": (
        "training.corpora.speech_mixtures:make_speech_mixtures_reverb",
        "the two-speaker mixtures in ShoeBox rooms; targets are the direct-path sources",
    ),
    "noisy-speech": (
        "training.corpora.noisy_speech:make_noisy_speech",
        "16 kHz speech + recorded/colored noise at -5..20 dB SNR, half in rooms (noises split by recording)",
    ),
    "array-mixtures": (
        "training.corpora.array_mixtures:make_array_mixtures",
        "4-mic linear/circular array mixtures of 1-2 speakers + point/diffuse noise, with DOAs (16 kHz)",
    ),
    "instrument-notes": ("training.corpora.instrument_notes:make_instrument_notes", "single notes of 8 GM instruments "
                         "(FluidSynth, FluidR3_GM), pitches 48-72 x 5 velocities, 1 s at 16 kHz, split by pitch"),
    "music-stems": ("training.corpora.music_stems:make_music_stems", "6 s generated songs (chords, bass, melody, "
                    "drum grooves) with exact bass/drums/chords/lead stems rendered by FluidSynth, 16 kHz, split by "
                    "song seed"),
    "tts-slt-synth": (
        "training.corpora.tts_single_voice:make_tts_single_voice",
        "one voice (flite slt, 16 kHz): unique sentences with espeak-ng IPA phonemes and durations in 12.5 ms "
        "frames from flite's timings, split by sentence",
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
