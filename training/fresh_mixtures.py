"""Two-speaker mixtures drawn on the fly by the speech-mixtures-2spk recipe, from packed word clips.

`pack_word_clips` (run where the corpora are) writes train-split word clips of the speech corpus,
trimmed and at the mixtures' sample rate, into one int16 array, balanced over voices up to a byte
budget. `PackedSpeechBank` serves them to the corpus's own `draw_two_speakers` / `set_levels`, so
`fresh_batch` makes mixtures the fixed corpus never wrote, with no files, no soundfile and no
TensorFlow (an accelerator machine has none of them). numpy only: worker processes import this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.corpora.speech_mixtures import SAMPLE_RATE, SpeechBank, draw_two_speakers, set_levels, to_pcm
from zoo.errors import DataError

PACK_SPLIT = "train"


def pack_word_clips(speech_manifest: Path, max_bytes: int, seed: int = 0, progress: bool = True) -> dict:
    """Arrays of train-split word clips: one clip of each voice in turn (voices and clips shuffled)
    until `max_bytes` of int16 audio, so every training voice is kept however small the budget."""
    from tqdm import tqdm

    bank = SpeechBank(speech_manifest)
    rng = np.random.default_rng(seed)
    queues = {spk: list(rng.permutation(len(rows))) for spk, rows in bank.by_split[PACK_SPLIT].items()}
    clips, speakers, labels, paths, total = [], [], [], [], 0
    bar = tqdm(total=max_bytes, unit="B", unit_scale=True, desc="packing word clips", disable=not progress)
    while total < max_bytes and any(queues.values()):
        for spk in list(rng.permutation(sorted(queues))):
            if not queues[spk] or total >= max_bytes:
                continue
            row = bank.by_split[PACK_SPLIT][spk][int(queues[spk].pop())]
            pcm = to_pcm(bank.clip(row, SAMPLE_RATE)).astype(np.int16)
            if not np.any(pcm):
                continue  # SpeechBank.word refuses silent clips
            clips.append(pcm)
            speakers.append(spk)
            labels.append(row["label"])
            paths.append(row["path"])
            total += pcm.nbytes
            bar.update(pcm.nbytes)
    bar.close()
    lengths = np.array([c.size for c in clips], np.int64)
    return {"word_audio": np.concatenate(clips), "word_start": np.cumsum(lengths) - lengths,
            "word_length": lengths, "word_speaker": np.array(speakers), "word_label": np.array(labels),
            "word_path": np.array(paths)}


class PackedSpeechBank(SpeechBank):
    """A SpeechBank of the train split whose clips come from `pack_word_clips`'s arrays. Rows keep
    the corpus's paths and order, so with every clip packed it draws what the file bank draws."""

    def __init__(self, arrays):
        self.folder = None
        self.audio = arrays["word_audio"]
        self.start, self.length = arrays["word_start"], arrays["word_length"]
        by_speaker: dict[str, list[dict]] = {}
        for k, (spk, label, path) in enumerate(zip(arrays["word_speaker"], arrays["word_label"], arrays["word_path"])):
            by_speaker.setdefault(str(spk), []).append({"index": k, "label": str(label), "path": str(path)})
        self.by_split = {PACK_SPLIT: {spk: sorted(rows, key=lambda r: r["path"])
                                      for spk, rows in sorted(by_speaker.items())}}

    def clip(self, row: dict, sample_rate: int) -> np.ndarray:
        if sample_rate != SAMPLE_RATE:
            raise DataError("packed word clips are at the mixtures' rate only", received=sample_rate,
                            expected=SAMPLE_RATE, fix="pack again at the rate you mix at")
        k = row["index"]
        return self.audio[self.start[k]:self.start[k] + self.length[k]].astype(np.float32) / 32768.0


def fresh_batch(bank: SpeechBank, rng, batch: int, crop: int) -> np.ndarray:
    """int16[batch, 2, crop]: the two sources of `batch` new anechoic mixtures on the corpus's 16-bit
    grid (the mixture is their sum, as in the corpus), each a random crop, zero-padded if shorter."""
    out = np.zeros((batch, 2, crop), np.int16)
    for b in range(batch):
        _, utts, sir, level = draw_two_speakers(bank, PACK_SPLIT, rng)
        n = min(len(u[0]) for u in utts)  # "min" mode
        dry = [u[0][:n] for u in utts]
        g, _, targets, _ = set_levels(dry, dry, sir, level)
        start = int(rng.integers(0, max(1, n - crop + 1)))
        for k, x in enumerate(targets):
            piece = to_pcm(g * x[start:start + crop])
            out[b, k, :piece.size] = piece
    return out


_BANK = None  # one per worker process


def init_worker(pack_path: str) -> None:
    global _BANK
    with np.load(pack_path) as arrays:
        _BANK = PackedSpeechBank({k: arrays[k] for k in arrays.files if k.startswith("word_")})


def worker_batch(job) -> np.ndarray:
    """fresh_batch for job (seed, index, batch, crop), reproducible from seed and index alone."""
    seed, index, batch, crop = job
    return fresh_batch(_BANK, np.random.default_rng([seed, index]), batch, crop)
