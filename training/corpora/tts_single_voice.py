"""tts-slt-synth: a single-voice text-to-speech corpus (flite's slt voice) with phoneme durations.

Texts: unique sentences from zoo.text.SentenceGrammar (commands, numbers, dates, times) with 40 %
free text of common words. Audio: `flite -voice slt` at its native 16 kHz (no resampling: the
voice has no content above 8 kHz, and 16 kHz matches the project's speech models), written as
16-bit PCM WAV at the voice's own level, zero-padded at the end to a whole number of hops.

Phonemes: espeak-ng IPA from zoo.text.PhonemeTokenizer (the inventory a synthesis model embeds),
with the word boundary "|" between words and also at both ends: the boundaries carry the
pauses, and the first and last one the leading and trailing silence. Durations (frames of
HOP_LENGTH = 200 samples, 12.5 ms, Tacotron 2's hop) come from flite's own timings (`flite -psdur`
phone end times, CMU phones mapped to IPA by training.corpora.voices.FliteVoice): the flite
phones are aligned to the espeak-ng phonemes by a minimum-cost monotone alignment (same phoneme
after folding allophones 0, similar class 0.5, vowel/consonant 1.2, a phoneme on one side only
1.0; one espeak-ng phoneme may take two flite phones, "ɑːɹ" = "ɑ" + "ɹ"). Mismatches are kept
and counted per row (`alignment`): `substituted` (paired but different), `flite_only` (a flite
phone with no espeak-ng counterpart: its time goes to the espeak-ng phoneme before it),
`ipa_only` (an espeak-ng phoneme flite did not say: it shares its neighbour's time equally).
Boundaries in seconds become frames by rounding, so durations sum exactly to `num_frames`.

Splits are by sentence (each text is unique, so no test sentence is in train). Deterministic:
texts from a seeded generator, flite is deterministic, rows are written in a fixed order.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import time
import zlib
from pathlib import Path

import numpy as np

from training.manifest import SPLITS, write_manifest
from training.corpora.corpus_args import check_args, is_cached, reset_corpus_dir
from zoo.errors import DataError

NAME = "tts-slt-synth"
GENERATOR_VERSION = 1
VOICE = "flite:slt"
SAMPLE_RATE = 16000
HOP_LENGTH = 200
BOUNDARY = "|"
FREE_TEXT_SHARE = 0.4
TTS_KEYS = ("path", "text", "phonemes", "durations", "hop_length", "num_frames", "duration", "sample_rate", "split",
            "seed")


@dataclasses.dataclass(frozen=True)
class Scale:
    sentences: dict  # split -> count


SCALES = {
    "full": Scale({"train": 2800, "validation": 100, "test": 100}),
    "tiny": Scale({"train": 24, "validation": 3, "test": 3}),
}

# --- alignment of flite's phones to espeak-ng's phonemes -----------------------------------------

_VOWEL_START = set("aeiouæɑɐɒɛɜɝɚɪʊʌɔəᵻ")
# Allophones and notation the two phone sets spell differently, folded before comparing.
_FOLD = {"ɐ": "ə", "ʌ": "ə", "ᵻ": "ɪ", "ɜ": "ɚ", "ɝ": "ɚ", "ɾ": "t", "ɔ": "ɑ", "oː": "oʊ", "o": "oʊ",
         "n̩": "n", "r": "ɹ", "x": "k", "ʔ": "t", "ɬ": "l", "ɑ̃": "ɑ"}
# espeak-ng phonemes that flite says as two phones.
_COMPOSITE = {"ɑːɹ": ("ɑ", "ɹ"), "ɔːɹ": ("ɑ", "ɹ"), "oːɹ": ("ɑ", "ɹ"), "ɛɹ": ("ɛ", "ɹ"),
              "ɪɹ": ("ɪ", "ɹ"), "ʊɹ": ("ʊ", "ɹ"), "aɪɚ": ("aɪ", "ɚ"), "aɪə": ("aɪ", "ə"), "iə": ("i", "ə"),
              "əl": ("ə", "l")}
ONE_SIDE_COST, SIMILAR_COST, OTHER_COST = 1.0, 0.5, 1.2


def _fold(p: str) -> str:
    p = _FOLD.get(p, p)
    p = p.replace("ː", "")
    return _FOLD.get(p, p)


def _unit_cost(a: str, b: str) -> float:
    a, b = _fold(a), _fold(b)
    if a == b:
        return 0.0
    return SIMILAR_COST if (a[:1] in _VOWEL_START) == (b[:1] in _VOWEL_START) else OTHER_COST


def _pair_cost(e: str, f: str) -> float:
    if e in _COMPOSITE:  # one half said alone is close
        return min(SIMILAR_COST, *(_unit_cost(p, f) for p in _COMPOSITE[e]))
    return _unit_cost(e, f)


def align_phones(ipa: list[str], flite: list[str]) -> tuple[list[list[int]], dict]:
    """Minimum-cost monotone alignment: for each espeak-ng phoneme the flite phone indices it takes,
    and the counts {"substituted", "flite_only", "ipa_only", "composite"}."""
    n, m = len(ipa), len(flite)
    cost = np.full((n + 1, m + 1), np.inf)
    move = np.zeros((n + 1, m + 1, 2), dtype=np.int64)
    cost[0, 0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            options = []
            if i and j:
                options.append((cost[i - 1, j - 1] + _pair_cost(ipa[i - 1], flite[j - 1]), 1, 1))
            if i and j >= 2 and ipa[i - 1] in _COMPOSITE:
                a, b = _COMPOSITE[ipa[i - 1]]
                options.append((cost[i - 1, j - 2] + _unit_cost(a, flite[j - 2]) + _unit_cost(b, flite[j - 1]), 1, 2))
            if i:
                options.append((cost[i - 1, j] + ONE_SIDE_COST, 1, 0))
            if j:
                options.append((cost[i, j - 1] + ONE_SIDE_COST, 0, 1))
            best = min(options, key=lambda o: o[0])  # first minimum: a fixed tie-break
            cost[i, j] = best[0]
            move[i, j] = best[1:]
    taken: list[list[int]] = [[] for _ in range(n)]
    counts = {"substituted": 0, "flite_only": 0, "ipa_only": 0, "composite": 0}
    orphans = []  # flite-only phones: (flite index, espeak-ng phoneme before it or -1)
    i, j = n, m
    steps = []
    while i or j:
        di, dj = move[i, j]
        steps.append((i, j, int(di), int(dj)))
        i, j = i - di, j - dj
    last = -1
    for i, j, di, dj in reversed(steps):
        if di and dj:
            taken[i - 1].extend(range(j - dj, j))
            if dj == 2:
                counts["composite"] += 1
            elif _pair_cost(ipa[i - 1], flite[j - 1]) > 0:
                counts["substituted"] += 1
            last = i - 1
        elif di:
            counts["ipa_only"] += 1
            last = i - 1
        else:
            counts["flite_only"] += 1
            orphans.append((j - 1, last))
    for f, before in orphans:
        k = before if before >= 0 else next((q for q in range(n) if taken[q]), 0) if n else -1
        if k >= 0:
            taken[k].append(f)
    return [sorted(t) for t in taken], counts


def phoneme_intervals(ipa: list[str], phones: list, taken: list[list[int]]) -> list[list[float]]:
    """[start_s, end_s] per espeak-ng phoneme from the flite phones it took; phonemes without one
    share the interval of the nearest phoneme before (else after) equally."""
    n = len(ipa)
    spans = [[min(phones[f][1] for f in t), max(phones[f][2] for f in t)] if t else None for t in taken]
    k = 0
    while k < n:
        if spans[k] is not None:
            k += 1
            continue
        stop = k
        while stop < n and spans[stop] is None:
            stop += 1
        donor = k - 1 if k > 0 else stop if stop < n else None
        if donor is None:
            raise DataError("flite gave no phones to align", received=f"{len(phones)} phones", expected="some phones",
                            fix="check the text is speakable")
        group = list(range(k, stop))
        members = sorted(group + [donor])
        a, b = spans[donor]
        edges = np.linspace(a, b, len(members) + 1)
        for q, member in enumerate(members):
            spans[member] = [float(edges[q]), float(edges[q + 1])]
        k = stop
    return spans


def durations_in_frames(tokens: list[str], spans: list, total_seconds: float, sample_rate: int, hop: int):
    """Frames per token (tokens = phonemes with BOUNDARY between words and at both ends).

    A boundary spans the gap between its neighbours (a pause, or 0); a gap inside a word goes to
    the phoneme before it. Durations sum to round(total_seconds * sample_rate / hop)."""
    phones = iter(spans)
    starts, ends = [], []
    for token in tokens:
        if token == BOUNDARY:
            starts.append(None)
            ends.append(None)
        else:
            s, e = next(phones)
            starts.append(s)
            ends.append(e)
    bounds = [0.0]  # end of each token
    for k, token in enumerate(tokens):
        nxt = next((starts[q] for q in range(k + 1, len(tokens)) if starts[q] is not None), total_seconds)
        if k == len(tokens) - 1:
            bounds.append(total_seconds)
        elif token == BOUNDARY or tokens[k + 1] != BOUNDARY:
            bounds.append(nxt)  # a boundary ends where speech resumes; a phoneme where the next begins
        else:
            bounds.append(ends[k])
    seconds = np.maximum.accumulate(np.clip(np.asarray(bounds), 0.0, total_seconds))
    frames = np.round(seconds * sample_rate / hop).astype(np.int64)
    return np.diff(frames).tolist()


# --- generation ---------------------------------------------------------------------------------

def sentences(seed: int, scale: Scale) -> list[tuple[str, str]]:
    """[(text, split)]: unique grammar sentences in a seeded order, split by position."""
    from zoo.text.sentence_grammar import SentenceGrammar

    grammar = SentenceGrammar(free_text_share=FREE_TEXT_SHARE)
    rng = np.random.default_rng([int(seed), zlib.crc32(NAME.encode())])
    total = sum(scale.sentences.values())
    texts, seen = [], set()
    for _ in range(50 * total):
        text = grammar.sample(rng)
        if text not in seen:
            seen.add(text)
            texts.append(text)
            if len(texts) == total:
                break
    else:
        raise DataError("the grammar ran out of unique sentences", received=f"{len(texts)} of {total}",
                        expected=f"{total} unique sentences", fix="use a smaller scale")
    out, first = [], 0
    for split in ("test", "validation", "train"):
        out += [(t, split) for t in texts[first:first + scale.sentences.get(split, 0)]]
        first += scale.sentences.get(split, 0)
    return out


def make_row(index: int, text: str, split: str, seed: int, out_dir: Path, voice, tokenizer) -> dict:
    from zoo.audio import write_audio

    x, sr, _, phones = voice.synthesize_timed(text)
    if sr != SAMPLE_RATE or not phones:
        raise DataError("flite returned no timed phones", received=f"{len(phones or [])} phones at {sr} Hz",
                        expected=f"phones at {SAMPLE_RATE} Hz", fix="check `flite -voice slt -psdur -t hello`")
    num_frames = -(-len(x) // HOP_LENGTH)
    clip = np.zeros(num_frames * HOP_LENGTH, np.float32)
    clip[:len(x)] = x
    words = tokenizer.text_to_phonemes(text)
    ipa = [p for p in words if p != BOUNDARY]
    taken, counts = align_phones(ipa, [p[0] for p in phones])
    spans = phoneme_intervals(ipa, phones, taken)
    tokens = [BOUNDARY, *words, BOUNDARY]
    durations = durations_in_frames(tokens, spans, len(clip) / SAMPLE_RATE, SAMPLE_RATE, HOP_LENGTH)
    if sum(durations) != num_frames or min(durations) < 0:
        raise DataError("phoneme durations do not cover the clip", received=f"{sum(durations)} frames",
                        expected=f"{num_frames} frames", fix="report this sentence: " + text)
    rel = f"audio/{split}/{index:05d}.wav"
    write_audio(out_dir / rel, clip, SAMPLE_RATE)
    return {"path": rel, "text": text, "phonemes": tokens, "durations": durations, "hop_length": HOP_LENGTH,
            "num_frames": num_frames, "duration": len(clip) / SAMPLE_RATE, "sample_rate": SAMPLE_RATE, "split": split,
            "seed": int(seed), "speaker": VOICE, "engine": "flite", "index": index,
            "flite_phones": [[p, round(a, 4), round(b, 4)] for p, a, b in phones], "alignment": counts}


def _readme(config: dict, rows: list[dict]) -> str:
    totals = {k: sum(r["alignment"][k] for r in rows) for k in ("substituted", "flite_only", "ipa_only", "composite")}
    phonemes = sum(sum(1 for p in r["phonemes"] if p != BOUNDARY) for r in rows)
    lines = [f"# {NAME}", "", f"One voice ({VOICE}, CMU ARCTIC slt through flite), {SAMPLE_RATE} Hz 16-bit PCM WAV, "
             "one unique sentence per clip with espeak-ng IPA phonemes and their durations in frames of "
             f"{HOP_LENGTH} samples from flite's own phone timings. Split by sentence.", "",
             f"Generator version {GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`.", "",
             "| split | sentences | hours |", "|---|---|---|"]
    for split in SPLITS:
        part = [r for r in rows if r["split"] == split]
        lines.append(f"| {split} | {len(part)} | {sum(r['duration'] for r in part) / 3600:.3f} |")
    lines += ["", "## Manifest", "", "`manifest.jsonl`: path, text, phonemes (IPA, `|` between words and at both "
              "ends), durations (frames per phoneme, summing to num_frames), hop_length, num_frames, duration (s), "
              "sample_rate, split, seed, speaker, engine, index, flite_phones ([ipa, start_s, end_s] as flite "
              "timed them; pauses are the gaps), alignment (mismatch counts).", "",
              "## Alignment of flite's phones to the espeak-ng phonemes", "",
              f"{phonemes} espeak-ng phonemes: {totals['substituted']} paired with a different flite phone, "
              f"{totals['ipa_only']} not said by flite (share a neighbour's time), {totals['flite_only']} flite phones "
              f"without an espeak-ng phoneme (time to the phoneme before), {totals['composite']} espeak-ng phonemes "
              "spoken as two flite phones.", "", "## Sources and licenses", "",
              "- voice: flite's cmu_us_slt (CMU ARCTIC slt; BSD-style flite/festvox license)",
              "- texts: zoo.text.SentenceGrammar (this project; the common-word list is CC0-1.0)",
              "- phonemes: espeak-ng (GPL-3.0) dictionaries, used as a tool"]
    return "\n".join(lines) + "\n"


def _config(seed, scale) -> dict:
    return {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
            "voice": VOICE, "sample_rate": SAMPLE_RATE, "hop_length": HOP_LENGTH}


def make_tts_single_voice(root, *, seed: int = 0, scale: str = "full", progress: bool = True, workers: int = 2) -> Path:
    """Generate (or reuse) the corpus under `<root>/tts-slt-synth/`; return its manifest path.

    Cached: returns at once when the manifest exists with the same seed, scale and generator
    version. `workers` flite processes run side by side; the output does not depend on it.
    """
    from tqdm.auto import tqdm

    from training.corpora.voices import FliteVoice, check_engine
    from zoo.text.phoneme_tokenizer import PhonemeTokenizer

    check_args(scale, seed, workers, SCALES)
    out_dir = Path(root) / NAME
    manifest, config_path = out_dir / "manifest.jsonl", out_dir / "config.json"
    if is_cached(out_dir, _config(seed, scale)):
        return manifest
    check_engine("flite")
    start = time.monotonic()
    reset_corpus_dir(out_dir)
    items = sentences(seed, SCALES[scale])
    voice, tokenizer = FliteVoice("slt", sample_rate=SAMPLE_RATE), PhonemeTokenizer()
    bar = tqdm(total=len(items), desc=NAME, unit="sentence", disable=not progress)
    rows: list[dict] = []
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:  # flite runs as a subprocess: threads suffice
        futures = [pool.submit(make_row, i, text, split, seed, out_dir, voice, tokenizer)
                   for i, (text, split) in enumerate(items)]
        try:
            for future in futures:
                rows.append(future.result())
                bar.update(1)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    bar.close()
    config = _config(seed, scale)
    (out_dir / "README.md").write_text(_readme(config, rows))
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    write_manifest(manifest, rows)  # last: its presence means the corpus is complete
    if progress:
        hours = sum(r["duration"] for r in rows) / 3600
        print(f"{NAME}: {len(rows)} sentences ({hours:.2f} h) in {time.monotonic() - start:.0f} s -> {manifest}")
    return manifest
