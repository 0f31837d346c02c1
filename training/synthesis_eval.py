"""Evaluate a text-to-speech system on held-out sentences: intelligibility, distance to the reference
voice, speed.

For a fixed set (the first `num_sentences` test-split rows of a corpus such as tts-slt-synth)
the synthesizer says each sentence once; the synthesized and the reference recordings are
transcribed by PocketSphinx (zoo.metrics.intelligibility: closed-vocabulary trigram of the
training split's sentences plus the grammar's word list, the same configuration for both) and by
the project's own recognizer (hub preset asr_deepspeech2_small_synth, greedy CTC decoding as
served; trained on other voices, so its WER on the reference voice is already high). Reported:
WER/CER on reference and synthesized audio and their ratio, mel-cepstral distortion (DTW-aligned,
leading and trailing silence trimmed) and multi-resolution STFT distance (no alignment: cropped to
the shorter clip, meaningful for a synthesizer that follows the reference's timing) against the
reference, and the real-time factor (total synthesis wall time / total synthesized seconds, after
one untimed warm-up call).

The issue's gate: on at least 50 held-out sentences, pocketsphinx WER on synthesized speech is at
most 2x its WER on the reference voice's own audio of the same sentences.

    python -m training.synthesis_eval --reference-only   # synthesize = read the reference WAV
    python -m training.synthesis_eval --flite-kal        # flite's kal16 voice: a different voice
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from zoo.errors import AudioError, ConfigError, DataError

CORPUS = "tts-slt-synth"
ZOO_PRESET = "asr_deepspeech2_small_synth"
RECOGNIZERS = ("pocketsphinx", "zoo")
MAX_WER_RATIO = 2.0
MIN_SENTENCES = 50
TRIM_DB = 40.0  # silence threshold below the clip's peak for MCD's trimming


def _ratio(synthesized: float, reference: float) -> float:
    """synthesized / reference; 1.0 when both are 0 (equally perfect), inf when only the reference is 0."""
    if reference > 0:
        return synthesized / reference
    return 1.0 if synthesized == 0 else math.inf


def _trim(x: np.ndarray) -> np.ndarray:
    import librosa

    trimmed, _ = librosa.effects.trim(x, top_db=TRIM_DB, frame_length=1024, hop_length=256)
    return trimmed if trimmed.size >= 1024 else x


def _check_rows(rows, split: str, num_sentences: int) -> list[dict]:
    if isinstance(num_sentences, bool) or not isinstance(num_sentences, int) or num_sentences < 1:
        raise ConfigError("num_sentences must be a positive int", received=repr(num_sentences), expected="int >= 1",
                          fix=f"pass e.g. num_sentences=60 (the gate needs >= {MIN_SENTENCES})")
    if isinstance(rows, (str, Path)) or not isinstance(rows, Sequence):
        raise ConfigError("rows must be a list of manifest rows", received=type(rows).__name__,
                          expected="list[dict] with path, text, split",
                          fix="read them with training.manifest.read_manifest(manifest)")
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict) or not {"path", "text", "split"} <= set(r)]
    if bad:
        raise DataError("a row lacks path, text or split", received=f"row {bad[0]}: {rows[bad[0]]!r}"[:200],
                        expected="manifest rows of a TTS corpus", fix="regenerate the corpus")
    chosen = [r for r in rows if r["split"] == split][:num_sentences]
    if not chosen:
        raise DataError(f"no {split!r} rows to evaluate", received=f"{len(rows)} rows",
                        expected=f"rows with split={split!r}", fix="pass the whole manifest's rows")
    return chosen


def _check_output(out, text: str) -> tuple[np.ndarray, int]:
    if not isinstance(out, tuple) or len(out) != 2:
        raise ConfigError("synthesize must return (waveform, sample_rate)", received=type(out).__name__,
                          expected="(f32[T], int)", fix="return the waveform and its sample rate as a tuple")
    x, sr = np.asarray(out[0], dtype=np.float32), out[1]
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr < 1:
        raise ConfigError("synthesize returned an invalid sample rate", received=repr(sr), expected="int Hz",
                          fix="return e.g. (waveform, 16000)")
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise AudioError("synthesize returned no usable waveform", received=f"shape {x.shape} for {text!r}",
                         expected="finite mono f32[T] with T > 0", fix="check the synthesizer on this sentence")
    return x, int(sr)


def evaluate_tts(synthesize: Callable[[str], tuple], rows: Sequence[dict], root, *, num_sentences: int = 60,
                 recognizers: Sequence[str] = RECOGNIZERS, split: str = "test", vocabulary: Sequence[str] | None = None,
                 zoo_preset: str = ZOO_PRESET, max_ratio: float = MAX_WER_RATIO, warmup: bool = True,
                 progress: bool = True, pocketsphinx=None, zoo_task=None) -> dict:
    """Intelligibility, distance and speed of `synthesize(text) -> (f32[T], sample_rate)`.

    rows: the corpus manifest's rows (all splits: the first `num_sentences` of `split` are
    evaluated, the "train" rows build pocketsphinx's language model); root: the folder their
    `path`s are relative to (the corpus folder). vocabulary: extra LM words (default: the
    SentenceGrammar's word list; () for none). pocketsphinx / zoo_task: ready recognizers to reuse
    instead of building them. Returns a dict (see `format_markdown`); "gate" holds the issue's
    test: passed = at least MIN_SENTENCES sentences and pocketsphinx WER ratio <= max_ratio.
    """
    from tqdm.auto import tqdm

    from zoo.audio import read_audio, resample
    from zoo.metrics.intelligibility import PocketSphinxRecognizer, wer_report
    from zoo.metrics.synthesis import mel_cepstral_distortion, mr_stft_distance

    if not callable(synthesize):
        raise ConfigError("synthesize must be callable", received=type(synthesize).__name__,
                          expected="a function text -> (waveform, sample_rate)", fix="pass e.g. voice.synthesize")
    recognizers = tuple(recognizers)
    unknown = [r for r in recognizers if r not in RECOGNIZERS]
    if unknown:
        raise ConfigError("unknown recognizer", received=repr(unknown[0]), expected=f"some of {RECOGNIZERS}",
                          fix="pass e.g. recognizers=('pocketsphinx',)")
    chosen = _check_rows(rows, split, num_sentences)
    root = Path(root)

    if "pocketsphinx" in recognizers and pocketsphinx is None:
        train = [r["text"] for r in rows if r["split"] == "train"]
        if not train:
            raise DataError("no training sentences for pocketsphinx's language model", received="0 train rows",
                            expected="the whole manifest (train rows included)",
                            fix="pass all rows, or a ready PocketSphinxRecognizer as pocketsphinx=")
        if vocabulary is None:
            from zoo.text.sentence_grammar import SentenceGrammar

            vocabulary = SentenceGrammar().vocabulary()
        pocketsphinx = PocketSphinxRecognizer(train, vocabulary=vocabulary)
    if "zoo" in recognizers and zoo_task is None:
        import zoo

        zoo_task = zoo.load(zoo_preset)

    if warmup:  # e.g. tf.function tracing: not part of the steady-state speed
        _check_output(synthesize(chosen[0]["text"]), chosen[0]["text"])
    utterances, synth_seconds, audio_seconds = [], 0.0, 0.0
    for row in tqdm(chosen, desc="evaluate tts", unit="sentence", disable=not progress):
        text = row["text"]
        reference, sr = read_audio(root / row["path"], mono=True)
        start = time.perf_counter()
        out = synthesize(text)
        elapsed = time.perf_counter() - start
        estimate, est_sr = _check_output(out, text)
        synth_seconds += elapsed
        audio_seconds += estimate.size / est_sr
        if est_sr != sr:  # compare at the reference's rate
            estimate = resample(estimate, est_sr, sr).astype(np.float32)
        u = {"text": text, "path": row["path"], "seconds": elapsed, "audio_seconds": estimate.size / sr,
             "mcd_db": mel_cepstral_distortion(_trim(reference), _trim(estimate), sr),
             "mr_stft": mr_stft_distance(reference, estimate)}
        if pocketsphinx is not None and "pocketsphinx" in recognizers:
            u["pocketsphinx"] = {"reference": pocketsphinx.transcribe(reference, sr),
                                 "synthesized": pocketsphinx.transcribe(estimate, sr)}
        if zoo_task is not None and "zoo" in recognizers:
            rate = zoo_task.sample_rate
            u["zoo"] = {name: zoo_task.predict_waveform(x if rate == sr else resample(x, sr, rate))["text"]
                        for name, x in (("reference", reference), ("synthesized", estimate))}
        utterances.append(u)

    texts = [u["text"] for u in utterances]
    result = {"num_sentences": len(utterances), "split": split, "sample_rate": sr,
              "mcd_db": float(np.mean([u["mcd_db"] for u in utterances])),
              "mr_stft": {k: float(np.mean([u["mr_stft"][k] for u in utterances]))
                          for k in ("spectral_convergence", "log_magnitude", "total")},
              "real_time_factor": synth_seconds / audio_seconds, "synthesis_seconds": synth_seconds,
              "audio_seconds": audio_seconds}
    for name in recognizers:
        ref = wer_report(texts, [u[name]["reference"] for u in utterances])
        syn = wer_report(texts, [u[name]["synthesized"] for u in utterances])
        result[name] = {"reference": ref, "synthesized": syn, "wer_ratio": _ratio(syn["wer"], ref["wer"]),
                        "cer_ratio": _ratio(syn["cer"], ref["cer"])}
    result["pocketsphinx_language_model"] = pocketsphinx.language_model if "pocketsphinx" in recognizers else None
    result["zoo_preset"] = zoo_preset if "zoo" in recognizers else None
    if "pocketsphinx" in recognizers:
        ratio = result["pocketsphinx"]["wer_ratio"]
        enough = len(utterances) >= MIN_SENTENCES
        result["gate"] = {"test": f"pocketsphinx WER synthesized / reference <= {max_ratio:g} on >= {MIN_SENTENCES} "
                          "held-out sentences", "ratio": ratio, "max_ratio": float(max_ratio),
                          "enough_sentences": enough, "passed": bool(enough and ratio <= max_ratio)}
    result["utterances"] = utterances
    return result


def format_markdown(result: dict, title: str = "Text-to-speech evaluation") -> str:
    """A Markdown report of `evaluate_tts`'s result: one table, the gate, the first transcripts."""
    def pct(v):
        return f"{100 * v:.1f}%"

    lines = [f"# {title}", "", f"{result['num_sentences']} {result['split']} sentences.", "",
             "| metric | reference audio | synthesized | ratio |", "|---|---|---|---|"]
    for name, label in (("pocketsphinx", "pocketsphinx"), ("zoo", result.get("zoo_preset"))):
        if name in result:
            r = result[name]
            lines.append(f"| {label} WER | {pct(r['reference']['wer'])} | {pct(r['synthesized']['wer'])} | "
                         f"{r['wer_ratio']:.2f} |")
            lines.append(f"| {label} CER | {pct(r['reference']['cer'])} | {pct(r['synthesized']['cer'])} | "
                         f"{r['cer_ratio']:.2f} |")
    mr = result["mr_stft"]
    lines += [f"| mel-cepstral distortion (dB) | 0 | {result['mcd_db']:.2f} | |",
              f"| MR-STFT distance (SC + log-mag) | 0 | {mr['total']:.3f} ({mr['spectral_convergence']:.3f} + "
              f"{mr['log_magnitude']:.3f}) | |",
              f"| real-time factor | | {result['real_time_factor']:.4f} | |"]
    if result.get("pocketsphinx_language_model"):
        lines += ["", f"PocketSphinx language model: {result['pocketsphinx_language_model']}."]
    if "gate" in result:
        g = result["gate"]
        verdict = "PASS" if g["passed"] else "FAIL" + ("" if g["enough_sentences"] else " (too few sentences)")
        lines += ["", f"Gate ({g['test']}): ratio {g['ratio']:.2f} -> **{verdict}**."]
    shown = [u for u in result["utterances"] if "pocketsphinx" in u][:10]
    if shown:
        lines += ["", "## First transcripts (pocketsphinx: reference audio / synthesized)", ""]
        lines += [f"- `{u['text']}`: `{u['pocketsphinx']['reference']}` / `{u['pocketsphinx']['synthesized']}`"
                  for u in shown]
    return "\n".join(lines) + "\n"


class ReferenceVoice:
    """synthesize(text) that reads the corpus recording of `text` (the reference voice itself)."""

    def __init__(self, rows: Sequence[dict], root):
        self.rows = rows
        self.root = Path(root)
        self._paths = {r["text"]: r["path"] for r in rows}

    def __call__(self, text: str) -> tuple[np.ndarray, int]:
        from zoo.audio import read_audio

        if text not in self._paths:
            raise DataError("no reference recording of this sentence", received=repr(text),
                            expected="a sentence of the corpus", fix="evaluate sentences of the same manifest")
        return read_audio(self.root / self._paths[text], mono=True)


def main(argv=None) -> int:
    import argparse

    from training.manifest import read_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--reference-only", action="store_true", help="evaluate the reference recordings themselves")
    which.add_argument("--flite-kal", action="store_true", help="flite's kal16 voice as the synthesizer (baseline)")
    parser.add_argument("--root", default="data", help="data root holding the corpus folder (default: data)")
    parser.add_argument("--corpus", default=CORPUS, help=f"corpus folder under the root (default: {CORPUS})")
    parser.add_argument("--num-sentences", type=int, default=60)
    parser.add_argument("--recognizers", nargs="+", default=list(RECOGNIZERS), choices=list(RECOGNIZERS))
    parser.add_argument("--json", help="also write the result (with per-sentence transcripts) to this file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    folder = Path(args.root) / args.corpus
    rows = read_manifest(folder / "manifest.jsonl", required=("path", "text", "split"))
    if args.reference_only:
        synthesize, title = ReferenceVoice(rows, folder), f"Reference audio ({args.corpus}) against itself"
    else:
        from training.corpora.voices import FliteVoice

        synthesize, title = FliteVoice("kal16").synthesize, f"flite kal16 on {args.corpus}'s sentences"
    result = evaluate_tts(synthesize, rows, folder, num_sentences=args.num_sentences,
                          recognizers=args.recognizers, progress=not args.no_progress)
    print(format_markdown(result, title))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    raise SystemExit(main())
