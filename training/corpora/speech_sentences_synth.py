"""speech-sentences-synth: short spoken commands and free text with word and phoneme timings.

Sentences come from zoo.text.SentenceGrammar (commands, numbers, dates and times in words; ~20 %
free text of common words), spoken by the voice pool of speech-commands-synth with the same
split by voice (its `voice_pool`, so a voice is in the same split in both corpora) and the same
seeded rate, pitch and peak-level ranges. Each sentence is trimmed, padded with silence to
1.5 s or more and written as 16 kHz 16-bit PCM WAV.

Timings (seconds in the written clip) come from the synthesizers: espeak-ng words and IPA
phonemes from the library's events, flite phones (as IPA) and words from `-psdur`, festival
words from its Word relation; piper has none (the row says `timings: null`).

Determinism: every sentence's text and parameters come from a generator keyed by (seed, voice,
take), and each work unit runs in a fresh spawned process in a fixed order, so a seed gives
byte-identical WAVs and manifest for any `workers` (scripts need the `__main__` guard).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import time
import zlib
from pathlib import Path

import numpy as np

from training.corpora import speech_commands_synth as scs
from training.manifest import SPLITS, write_manifest
from training.corpora.corpus_args import check_args, is_cached, reset_corpus_dir
from zoo.errors import ConfigError, DataError

NAME = "speech-sentences-synth"
GENERATOR_VERSION = 1
SAMPLE_RATE = 16000
ENGINES = scs.ENGINES
# The keys of every row (speech-sentences-synth and the LibriSpeech loader); read manifests with
# training.manifest.read_manifest(path, required=SENTENCE_KEYS).
SENTENCE_KEYS = ("path", "text", "split", "speaker", "engine", "duration", "sample_rate", "words", "phonemes",
                 "seed")
MIN_SECONDS = 1.5  # shorter sentences get longer silences
MAX_SECONDS = 4.0  # longer ones get the shortest silences (PAD_MIN)
PAD_RANGE = (0.1, 0.35)  # leading and trailing silence (s), uniform
PAD_MIN = 0.05


@dataclasses.dataclass(frozen=True)
class Scale:
    voices: str  # the speech-commands-synth scale whose voice pool is used
    takes: dict  # engine -> {split: sentences per voice}
    espeak_per_task: int  # espeak voices per work unit
    per_task: int  # sentences per work unit for the other engines
    # engine -> {split: free-text sentences per voice} after the takes above (a superset corpus: the
    # rows of the scale without them are unchanged, byte for byte)
    free_text_takes: dict = dataclasses.field(default_factory=dict)


_FULL_TAKES = {"espeak-ng": {"train": 58, "validation": 38, "test": 30},
               "flite": {"train": 300, "validation": 250, "test": 250},
               "festival": {"train": 500}, "piper": {"train": 700}}
_TINY_TAKES = {"espeak-ng": {"train": 1, "validation": 1, "test": 1}, "flite": {"train": 1, "validation": 1, "test": 1},
               "festival": {"train": 1}, "piper": {"train": 2}}
SCALES = {
    "full": Scale("full", takes=_FULL_TAKES, espeak_per_task=10, per_task=175),
    "tiny": Scale("tiny", takes=_TINY_TAKES, espeak_per_task=64, per_task=64),
    # "full" plus 4.1x the free text in the train split only (2,280 -> 9,400 sentences; validation and
    # test unchanged): the recognisers make most of their errors on free text, and in "full" each common
    # word is heard a median of 25 times per pass (101 in "full_free").
    "full_free": Scale("full", takes=_FULL_TAKES, espeak_per_task=10, per_task=175,
                       free_text_takes={"espeak-ng": {"train": 40}, "flite": {"train": 150},
                                        "festival": {"train": 250}}),
    "tiny_free": Scale("tiny", takes=_TINY_TAKES, espeak_per_task=64, per_task=64,
                       free_text_takes={"espeak-ng": {"train": 2}}),
}


def _specs(seed: int, voice: str, split: str, scale: Scale, engine: str, grammar, extra: bool = False) -> list[dict]:
    """The sentences one voice says: the scale's takes, or with `extra` its free-text takes (numbered
    after them; `grammar` then makes free text only)."""
    regular = scale.takes[engine].get(split, 0)
    takes = range(regular, regular + scale.free_text_takes.get(engine, {}).get(split, 0)) if extra else range(regular)
    specs = []
    for take in takes:
        rng = np.random.default_rng(scs._key(seed, "free text" if extra else "sentence", voice, take))
        spec = {
            "text": grammar.sample(rng), "take": take, "voice": voice, "split": split,
            "rate": round(float(np.exp(rng.uniform(np.log(scs.RATE_RANGE[0]), np.log(scs.RATE_RANGE[1])))), 4),
            "pitch": round(float(rng.uniform(*scs.PITCH_RANGE)), 4),
            "peak_db": round(float(rng.uniform(*scs.PEAK_DB_RANGE)), 2),
            "lead": float(rng.uniform(*PAD_RANGE)), "tail": float(rng.uniform(*PAD_RANGE)),
        }
        if engine == "piper":
            spec["noise_scale"] = round(float(rng.uniform(0.35, 0.9)), 3)
            spec["noise_w"] = round(float(rng.uniform(0.4, 1.1)), 3)
        specs.append(spec)
    return specs


def _tasks(seed: int, scale: Scale, splits: dict[str, str]) -> list[dict]:
    """Work units with a fixed content and order (each runs in its own fresh process). A scale's extra
    free text comes in tasks of its own after the others, so that the regular tasks (and the
    synthesizer state each one runs through) are those of the scale without it."""
    from zoo.text.sentence_grammar import SentenceGrammar

    by_engine: dict[str, list[str]] = {}
    for voice in splits:
        by_engine.setdefault(voice.split(":")[0], []).append(voice)
    tasks = []
    for extra, grammar in ((False, SentenceGrammar()), (True, SentenceGrammar(free_text_share=1.0))):
        for engine, voices in sorted(by_engine.items()):
            if engine == "espeak-ng":
                groups = [voices[i:i + scale.espeak_per_task] for i in range(0, len(voices), scale.espeak_per_task)]
                chunks = [[s for v in g for s in _specs(seed, v, splits[v], scale, engine, grammar, extra)]
                          for g in groups]
            else:
                specs = [s for v in voices for s in _specs(seed, v, splits[v], scale, engine, grammar, extra)]
                chunks = [specs[i:i + scale.per_task] for i in range(0, len(specs), scale.per_task)]
            for chunk in chunks:
                if chunk:
                    tasks.append({"engine": engine, "index": len(tasks), "seed": seed, "specs": chunk})
    # Long tasks first keeps both workers busy to the end.
    cost = {"piper": 8, "festival": 3, "flite": 3, "espeak-ng": 1}
    return sorted(tasks, key=lambda t: (-len(t["specs"]) * cost[t["engine"]], t["index"]))


def speech_bounds(x: np.ndarray, *, threshold_db: float = scs.TRIM_DB, frame: int = 160) -> tuple[int, int]:
    """(start, stop) samples of the speech: speech_commands_synth.trim_silence's rule, as bounds."""
    n = len(x) // frame
    if n == 0:
        return 0, len(x)
    rms = np.sqrt(np.mean(np.asarray(x[: n * frame], np.float64).reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (threshold_db / 20))
    if loud.size == 0:
        return 0, 0
    return max(0, loud[0] - 1) * frame, min(len(x), (loud[-1] + 2) * frame)


def shape_sentence(x: np.ndarray, words, phonemes, spec: dict):
    """(clip, words, phonemes): speech trimmed, padded with spec's silences, peak at spec["peak_db"].

    The trim never cuts into a timed word or phoneme; times are moved into the clip.
    """
    start, stop = speech_bounds(x)
    timed = [t for group in (words or [], phonemes or []) for t in group]
    if timed:
        start = min(start, int(np.floor(min(t[1] for t in timed) * SAMPLE_RATE)))
        stop = max(stop, min(len(x), int(np.ceil(max(t[2] for t in timed) * SAMPLE_RATE))))
    speech = x[start:stop]
    if len(speech) == 0 or not np.any(speech):
        raise DataError(f"{spec['voice']} produced silence for {spec['text']!r}", received="an all-quiet clip",
                        expected="speech", fix="drop that voice from the pool")
    seconds = len(speech) / SAMPLE_RATE
    lead, tail = spec["lead"], spec["tail"]
    if seconds + lead + tail < MIN_SECONDS:
        extra = (MIN_SECONDS - seconds - lead - tail) / 2
        lead, tail = lead + extra, tail + extra
    elif seconds + lead + tail > MAX_SECONDS:
        scale = max(0.0, MAX_SECONDS - seconds - 2 * PAD_MIN) / (lead + tail - 2 * PAD_MIN)
        lead, tail = PAD_MIN + (lead - PAD_MIN) * min(1.0, scale), PAD_MIN + (tail - PAD_MIN) * min(1.0, scale)
    lead_n, tail_n = int(round(lead * SAMPLE_RATE)), int(round(tail * SAMPLE_RATE))
    clip = np.zeros(lead_n + len(speech) + tail_n, np.float32)
    clip[lead_n:lead_n + len(speech)] = speech * np.float32(10 ** (spec["peak_db"] / 20) / np.max(np.abs(speech)))
    shift, duration = (lead_n - start) / SAMPLE_RATE, len(clip) / SAMPLE_RATE

    def move(rows):
        if rows is None:
            return None
        return [[name, round(min(duration, max(0.0, a + shift)), 4), round(min(duration, max(0.0, b + shift)), 4)]
                for name, a, b in rows]

    return clip, move(words), move(phonemes)


def run_task(task: dict, out_dir: str) -> list[dict]:
    """Synthesize, shape and write one task's sentences; return their manifest rows (runs in a worker)."""
    from training.corpora.voices import make_voice
    from zoo.audio import write_audio

    out_dir = Path(out_dir)
    engine, seed, specs = task["engine"], task["seed"], task["specs"]
    results = None
    if engine == "festival":  # one festival run per voice
        results = []
        for voice_id in dict.fromkeys(s["voice"] for s in specs):
            group = [(s["text"], s["rate"], s["pitch"]) for s in specs if s["voice"] == voice_id]
            results += [(x, sr, w, None) for x, sr, w in make_voice(voice_id).synthesize_batch_timed(group)]
    voices: dict[str, object] = {}
    rows = []
    for i, spec in enumerate(specs):
        if results is not None:
            x, _, words, phonemes = results[i]
        else:
            voice = voices.get(spec["voice"])
            if voice is None:
                voice = voices[spec["voice"]] = make_voice(spec["voice"], seed=zlib.crc32(
                    f"{seed}:{task['index']}".encode()))
            if engine == "piper":
                x, _ = voice.synthesize(spec["text"], rate=spec["rate"], pitch=spec["pitch"],
                                        noise_scale=spec["noise_scale"], noise_w=spec["noise_w"])
                words = phonemes = None
            else:
                x, _, words, phonemes = voice.synthesize_timed(spec["text"], rate=spec["rate"], pitch=spec["pitch"])
        clip, words, phonemes = shape_sentence(x, words, phonemes, spec)
        rel = f"audio/{spec['split']}/{scs.slug(spec['voice'])}/{spec['take']:04d}.wav"
        write_audio(out_dir / rel, clip, SAMPLE_RATE)
        kind = "+".join(k for k, v in (("words", words), ("phonemes", phonemes)) if v is not None) or None
        rows.append({"path": rel, "text": spec["text"], "split": spec["split"], "speaker": spec["voice"],
                     "engine": engine, "duration": len(clip) / SAMPLE_RATE, "sample_rate": SAMPLE_RATE,
                     "words": words, "phonemes": phonemes, "timings": kind, "seed": seed, "take": spec["take"],
                     "rate": spec["rate"], "pitch": spec["pitch"], "peak_db": spec["peak_db"]})
    return rows


def _in_fresh_process(task: dict, out_dir: str) -> list[dict]:
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_task, task, out_dir).result()


_TIMING_NOTES = {
    "espeak-ng": "words and IPA phonemes from libespeak-ng's synchronous word/phoneme events",
    "flite": "phones from `flite -psdur` (CMU phones mapped to IPA), words by each word's phone count said alone "
             "(words null where the counts disagree)",
    "festival": "words from festival's Word relation (word_start, word_end); no phonemes",
    "piper": "none (`timings: null`)",
}


def _readme(config, rows, splits) -> str:
    extra = SCALES[config["scale"]].free_text_takes
    lines = [f"# {NAME}", "", "Spoken assistant commands (numbers, dates and times in words) and ~20 % free text of "
             "common words, 16 kHz 16-bit PCM WAV, one sentence per clip with word and phoneme timings where the "
             "synthesizer gives them. Split by voice (the voice pool and split of speech-commands-synth): no voice "
             "is in two splits.", "",
             *([f"Extra free text (sentences per voice, after the regular takes): {json.dumps(extra)}.", ""]
               if extra else []),
             f"Generator version {GENERATOR_VERSION}, seed {config['seed']}, scale `{config['scale']}`, engines "
             f"{', '.join(config['engines'])}.", "",
             "| engine | " + " | ".join(SPLITS) + " | hours |", "|---|" + "---|" * (len(SPLITS) + 1)]
    for engine in config["engines"]:
        counts = [sum(1 for r in rows if r["engine"] == engine and r["split"] == s) for s in SPLITS]
        hours = sum(r["duration"] for r in rows if r["engine"] == engine) / 3600
        lines.append(f"| {engine} | " + " | ".join(map(str, counts)) + f" | {hours:.2f} |")
    counts = [sum(1 for r in rows if r["split"] == s) for s in SPLITS]
    lines.append("| all | " + " | ".join(map(str, counts)) + f" | {sum(r['duration'] for r in rows) / 3600:.2f} |")
    voices_per = {s: len({r["speaker"] for r in rows if r["split"] == s}) for s in SPLITS}
    lines += ["", "Voices per split: " + ", ".join(f"{s} {voices_per[s]}" for s in SPLITS)
              + " (`splits.json` maps each voice to its split).", "", "## Manifest", "",
              "`manifest.jsonl`, one sentence per line: path, text (lowercase letters, apostrophe, space), split, "
              "speaker (voice id), engine, duration (s), sample_rate, words [[word, start_s, end_s], ...], phonemes "
              "[[ipa, start_s, end_s], ...] (null where the engine gives none), timings (which of them exist), seed, "
              "take, rate and pitch (factors), peak_db.", "", "## Timings", ""]
    lines += [f"- {e}: {_TIMING_NOTES[e]}" for e in config["engines"]]
    lines += ["", "## Sources and licenses", ""]
    lines += [f"- {scs._ENGINE_NOTES[e]}" for e in config["engines"]]
    lines.append("- texts: zoo.text.SentenceGrammar (this project; the common-word list is CC0-1.0)")
    return "\n".join(lines) + "\n"


def _config(seed, scale, engines) -> dict:
    return {"generator_version": GENERATOR_VERSION, "name": NAME, "seed": int(seed), "scale": scale,
            "engines": list(engines)}


def make_speech_sentences_synth(root, *, seed: int = 0, scale: str = "full", engines=None, progress: bool = True,
                                workers: int = 2) -> Path:
    """Generate (or reuse) the corpus under `<root>/speech-sentences-synth/`; return its manifest path.

    engines: subset of ("espeak-ng", "flite", "festival", "piper"); None means all (each must be
    installed). Cached: returns at once when the manifest exists with the same seed, scale,
    engines and generator version.
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
    out_dir = Path(root) / NAME
    manifest, config_path = out_dir / "manifest.jsonl", out_dir / "config.json"
    if is_cached(out_dir, _config(seed, scale, engines)):
        return manifest
    for engine in engines:
        check_engine(engine)
    spec = SCALES[scale]
    start = time.monotonic()
    reset_corpus_dir(out_dir)
    variants = EspeakVoice.available_variants() if "espeak-ng" in engines else []
    splits = scs.voice_pool(seed, scs.SCALES[spec.voices], engines, variants)
    tasks = _tasks(seed, spec, splits)
    rows: list[dict] = []
    bar = tqdm(total=sum(len(t["specs"]) for t in tasks), desc=NAME, unit="sentence", disable=not progress)
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_in_fresh_process, t, str(out_dir)): t for t in tasks}
        try:
            for future in cf.as_completed(futures):
                rows += future.result()
                bar.update(len(futures[future]["specs"]))
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    bar.close()
    rows.sort(key=lambda r: r["path"])
    config = _config(seed, scale, engines)
    used = {r["speaker"] for r in rows}
    (out_dir / "splits.json").write_text(json.dumps({v: s for v, s in splits.items() if v in used}, indent=1,
                                                    sort_keys=True) + "\n")
    (out_dir / "README.md").write_text(_readme(config, rows, splits))
    config_path.write_text(json.dumps(config, indent=1, sort_keys=True) + "\n")
    write_manifest(manifest, rows)  # last: its presence means the corpus is complete
    if progress:
        hours = sum(r["duration"] for r in rows) / 3600
        print(f"{NAME}: {len(rows)} sentences ({hours:.2f} h) in {time.monotonic() - start:.0f} s -> {manifest}")
    return manifest
