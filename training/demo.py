"""`make demo`: the main job end to end. Pull a pretrained keyword spotter (sha256-verified), export it
as a TF Serving SavedModel behind its parity gate, start the TF-Serving-compatible server, speak words
with voices the model never heard in training, and query `recognize` over gRPC. Writes the WAVs, the
SavedModel, a plot and a Markdown report to demo-out/. The same server also answers a sequence
`recognize` (speech to text) and `separate` (two voices from one mixture) with the first-cut presets of
those families and synthesize (training/demo_endpoints.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

PRESET = "kws_dscnn_small_synth"
WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "marvin", "seven"]


def held_out_voices(limit_per_engine: int = 2) -> list:
    """Test-split voices of the corpus recipe (never in training), without generating the corpus."""
    from training.corpora.speech_commands_synth import ENGINES, SCALES, voice_pool
    from training.corpora.voices import EspeakVoice

    splits = voice_pool(0, SCALES["full"], ENGINES, EspeakVoice.available_variants())
    chosen, per_engine = [], {}
    for voice, split in splits.items():
        engine = voice.split(":")[0]
        if split == "test" and per_engine.get(engine, 0) < limit_per_engine:
            chosen.append(voice)
            per_engine[engine] = per_engine.get(engine, 0) + 1
    return chosen


def speak(voice_id: str, word: str, rng) -> np.ndarray:
    from training.corpora.speech_commands_synth import place_in_clip, trim_silence
    from training.corpora.voices import make_voice

    audio, _ = make_voice(voice_id).synthesize(word, rate=1.0, pitch=1.0)
    clip, *_ = place_in_clip(trim_silence(audio), float(rng.uniform(0.1, 0.9)), -6.0)
    return clip


def plot(results, task, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 6
    rows = int(np.ceil(len(results) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.6 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results):
        features = np.asarray(task.frontend(r["clip"][None, :]))[0]
        ax.imshow(features.T, origin="lower", aspect="auto", cmap="magma")
        ok = r["label"] == r["expected"]
        ax.set_title(f"said '{r['word']}' -> {r['label']} ({r['score']:.0%})", fontsize=9,
                     color="darkgreen" if ok else "crimson")
        ax.set_xlabel(r["voice"], fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    correct = sum(r["label"] == r["expected"] for r in results)
    fig.suptitle(f"{task.name}: {correct}/{len(results)} correct on held-out voices (log-mel input shown)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def export_and_configure(task, models_dir: Path, waveforms: np.ndarray, others=()) -> Path:
    """SavedModels (the classifier gated: Keras vs SavedModel <= 1e-5; `others` are checked against
    their in-process outputs after the queries) + one models.config for the server."""
    import shutil

    from export.parity import enforce, keras_vs_saved_model
    from export.saved_model import export_saved_model
    from serving.config import ModelConfig, to_text

    entries = []
    for t in (task, *others):
        shutil.rmtree(models_dir / t.name, ignore_errors=True)
        path = export_saved_model(t, models_dir, model_name=t.name, version=1)
        if t is task:
            enforce([keras_vs_saved_model(task, path, waveforms)])
        entries.append(ModelConfig(name=t.name, base_path=str((models_dir / t.name).resolve())))
    config = models_dir / "models.config"
    config.write_text(to_text(entries))
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo-out")
    parser.add_argument("--preset", default=PRESET)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import zoo
    from serving.demo_client import query_all, start_server, stop_server
    from zoo.audio import write_audio
    from zoo.families.recognition.kws_protocol import UNKNOWN

    out = Path(args.output)
    (out / "words").mkdir(parents=True, exist_ok=True)
    task = zoo.load(args.preset)
    rng = np.random.default_rng(args.seed)
    voices = held_out_voices()
    print(f"{task.name}: {len(WORDS)} words x {len(voices)} held-out voices ({', '.join(voices)})")
    spoken = []
    for voice in voices:
        for word in WORDS:
            clip = speak(voice, word, rng)
            path = out / "words" / f"{voice.replace(':', '_').replace('+', '_')}_{word}.wav"
            write_audio(path, clip, task.sample_rate)
            spoken.append({"voice": voice, "word": word, "file": str(path), "clip": clip,
                           "expected": word if word in task.labels else UNKNOWN})

    from training import demo_endpoints as more

    asr_task, sep_task, tts_task = (zoo.load(more.ASR_PRESET), zoo.load(more.SEPARATION_PRESET),
                                    zoo.load(more.TTS_PRESET))
    (out / "sentences").mkdir(exist_ok=True)
    sentences = more.make_sentences(voices, out / "sentences", asr_task.sample_rate, rng)
    mix = more.make_mixture(voices, out / "sentences", sep_task.sample_rate, rng)
    config = export_and_configure(task, out / "models", np.stack([r["clip"] for r in spoken[:8]]),
                                  others=(asr_task, sep_task, tts_task))
    print(f"starting the model server on {config}")
    start = time.perf_counter()
    proc, target = start_server(config, log_path=out / "server.log")
    try:
        answers = query_all(target, [r["file"] for r in spoken], task.name)
        extra = more.query(target, asr_task, sentences, sep_task, mix, out / "sentences")
        (out / "synthesis").mkdir(exist_ok=True)
        spoken_back = more.synthesize(target, tts_task, more.TTS_TEXTS, out / "synthesis", asr_task)
    finally:
        stop_server(proc)
    results = []
    for r, a in zip(spoken, answers):
        if "error" in a:
            print(f"  ERROR {r['file']}: {a['error']}")
            continue
        r = dict(r, label=a["label"], score=a["score"], latency_ms=a["latency_ms"])
        results.append(r)
        mark = "ok " if r["label"] == r["expected"] else "MISS"
        print(f"  {mark} {r['voice']:28} said {r['word']:7} -> {r['label']:8} {r['score']:.1%}"
              f"  ({r['latency_ms']:.1f} ms over gRPC)")
    seconds = time.perf_counter() - start
    plot(results, task, out / "kws_demo.png")
    correct = sum(r["label"] == r["expected"] for r in results)
    rows = "\n".join(f"| {r['voice']} | {r['word']} | {r['label']} | {r['score']:.1%} | "
                     f"{'yes' if r['label'] == r['expected'] else '**no**'} |" for r in results)
    (out / "report.md").write_text(
        f"# Demo: {task.name} on held-out voices\n\n"
        f"{correct}/{len(results)} correct ({correct / len(results):.1%}), queried over gRPC (`recognize`) from the "
        f"TF-Serving-compatible server; median latency {np.median([r['latency_ms'] for r in results]):.1f} ms; "
        f"server start + queries {seconds:.1f} s.\n\n"
        f"![predictions](kws_demo.png)\n\n| voice | said | heard | score | correct |\n|---|---|---|---|---|\n{rows}\n")
    (out / "predictions.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "clip"} for r in results], indent=2) + "\n")
    print(f"{correct}/{len(results)} correct; wrote {out / 'kws_demo.png'} and {out / 'report.md'}")
    lines = [f"\n## Speech to text: {asr_task.name} over gRPC (`recognize`, sequence signature)\n",
             f"WER {extra['asr_wer']:.1%} on {len(extra['sentences'])} sentences by held-out voices (a first-cut model: "
             "see docs/benchmarks.md); served text equals the in-process transcript: "
             f"{all(r['same'] for r in extra['sentences'])}.\n", "| voice | said | heard |", "|---|---|---|"]
    lines += [f"| {r['voice']} | {r['said']} | {r['served']} |" for r in extra["sentences"]]
    sep = extra["separation"]
    lines += [f"\n## Separation: {sep_task.name} over gRPC (`separate`)\n",
              f"Mixture of {' and '.join(sep['voices'])} (sentences/mixture.wav): SI-SDR improvement "
              f"{', '.join(f'{v:+.1f} dB' for v in sep['si_sdri_db'])} per source; served vs in-process max "
              f"difference {sep['max_abs_diff_vs_in_process']:.1e}; estimates in sentences/mixture_estimate*.wav."]
    lines += [f"\n## Text to speech: {tts_task.name} over gRPC (`synthesize`)\n",
              "WAVs and spectrograms in synthesis/ (![spectrograms](synthesis/synthesized.png)); the served "
              f"{asr_task.name} transcribes them (a recognizer trained on other voices).\n",
              "| text | seconds | served vs in-process | recognizer heard |", "|---|---|---|---|"]
    lines += [f"| {r['text']} | {r['seconds']} | {r['max_abs_diff_vs_in_process']:.1e} | {r.get('asr_heard', '')} |"
              for r in spoken_back]
    with open(out / "report.md", "a") as f:
        f.write("\n".join(lines) + "\n")
    for r in spoken_back:
        print(f"  synthesize {r['text']!r} -> {r['file']} ({r['seconds']} s; recognizer heard {r.get('asr_heard')!r})")
    for r in extra["sentences"]:
        print(f"  said {r['said']!r:45} -> heard {r['served']!r} ({r['voice']})")
    print(f"separate: SI-SDRi {sep['si_sdri_db']} dB; served == in-process within {sep['max_abs_diff_vs_in_process']:.1e}")
    if not all(r["same"] for r in extra["sentences"]) or sep["max_abs_diff_vs_in_process"] > 1e-3 \
            or any(r["max_abs_diff_vs_in_process"] > 1e-3 for r in spoken_back):
        print("error: a served answer differs from the in-process model", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
