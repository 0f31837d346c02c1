"""The demo's other endpoints: a sequence `recognize` (speech to text), `separate` (two voices
from one mixture), each on audio made here with voices held out from training, and `synthesize`
(text to speech, on sentences the synthesizer never trained on), served by the same server as the
keyword spotter. Each check compares the served answer with the in-process model, so
the demo shows the served graph is the model (quality itself is in docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ASR_PRESET = "asr_deepspeech2_small_synth"
SEPARATION_PRESET = "sep_convtasnet_small_2spk"
TTS_PRESET = "tts_fastspeech_slt"
TTS_TEXTS = ("turn on the kitchen light", "set a timer for twenty five minutes",
             "what is the weather in paris tomorrow")


def _peak(x: np.ndarray, level: float = 0.5) -> np.ndarray:
    return (level * x / max(float(np.abs(x).max()), 1e-9)).astype(np.float32)


def make_sentences(voices, out: Path, sample_rate: int, rng, count: int = 4) -> list[dict]:
    """`count` grammar sentences, each by another held-out voice, written as WAVs."""
    from training.corpora.voices import make_voice
    from zoo.audio import resample, write_audio
    from zoo.text import SentenceGrammar

    grammar = SentenceGrammar(free_text_share=0.0)
    items = []
    for i in range(count):
        voice, text = voices[i % len(voices)], grammar.sample(rng)
        audio, rate = make_voice(voice).synthesize(text, rate=1.0, pitch=1.0)
        audio = _peak(resample(np.asarray(audio, np.float32), rate, sample_rate))
        path = out / f"sentence{i}_{voice.replace(':', '_').replace('+', '_')}.wav"
        write_audio(path, audio, sample_rate)
        items.append({"voice": voice, "text": text, "file": str(path), "audio": audio})
    return items


def make_mixture(voices, out: Path, sample_rate: int, rng) -> dict:
    """Two held-out voices saying three words each, mixed at 0 dB (sources and mixture as WAVs)."""
    from training.corpora.voices import make_voice
    from zoo.audio import resample, write_audio

    words = ["yes", "left", "seven", "go", "marvin", "stop", "down", "nine"]
    sources = []
    for voice in voices[:2]:
        parts = []
        for word in rng.choice(words, 3, replace=False):
            audio, rate = make_voice(voice).synthesize(str(word), rate=1.0, pitch=1.0)
            parts += [resample(np.asarray(audio, np.float32), rate, sample_rate), np.zeros(sample_rate // 10, np.float32)]
        sources.append(np.concatenate(parts))
    n = max(len(s) for s in sources)
    sources = np.stack([_peak(np.pad(s, (0, n - len(s))), 0.25) for s in sources])
    mixture = sources.sum(0)
    for k, s in enumerate(sources):
        write_audio(out / f"mixture_source{k}_reference.wav", s, sample_rate)
    write_audio(out / "mixture.wav", mixture, sample_rate)
    return {"voices": list(voices[:2]), "sources": sources, "mixture": mixture, "file": str(out / "mixture.wav")}


def query(target: str, asr_task, sentences: list[dict], sep_task, mix: dict, out: Path) -> dict:
    """gRPC recognize (text) and separate, each next to the in-process result."""
    from serving.client import Client
    from zoo.audio import write_audio
    from zoo.metrics.asr import wer
    from zoo.metrics.separation import si_sdr_improvement

    result = {"sentences": []}
    with Client(target, timeout=30.0) as client:
        for s in sentences:
            served = client.recognize(asr_task.name, s["audio"], sample_rate=asr_task.sample_rate)[0]
            text = served["text"].decode() if isinstance(served["text"], bytes) else str(served["text"])
            local = asr_task.predict_waveform(s["audio"])["text"]
            result["sentences"].append({"voice": s["voice"], "said": s["text"], "served": text,
                                        "in_process": local, "same": text == local})
        estimate = client.separate(sep_task.name, mix["mixture"], sample_rate=sep_task.sample_rate)[0]
    local = sep_task.predict_waveform(mix["mixture"])["sources"]
    for k, source in enumerate(estimate):
        write_audio(out / f"mixture_estimate{k}.wav", np.clip(source, -1, 1), sep_task.sample_rate)
    result["asr_wer"] = wer([s["said"] for s in result["sentences"]], [s["served"] for s in result["sentences"]])
    result["separation"] = {
        "voices": mix["voices"],
        "si_sdri_db": [round(float(v), 2) for v in si_sdr_improvement(mix["sources"], estimate, mix["mixture"])],
        "max_abs_diff_vs_in_process": float(np.abs(estimate - local[:, :estimate.shape[1]]).max()),
    }
    return result


def synthesize(target: str, tts_task, texts, out: Path, asr_task=None) -> list[dict]:
    """gRPC synthesize for each text: WAV + spectrogram PNG in `out`, the served waveform next to the
    in-process one, and (if given) what the served ASR model hears in it."""
    from serving.client import Client
    from zoo.audio import write_audio

    rows = []
    with Client(target, timeout=60.0) as client:
        for i, text in enumerate(texts):
            served = client.synthesize(tts_task.name, text)[0]
            local = tts_task.predict_text(text)["waveform"]
            path = out / f"synthesized{i}.wav"
            write_audio(path, np.clip(served, -1.0, 1.0), tts_task.sample_rate)
            row = {"text": text, "file": str(path), "seconds": round(served.size / tts_task.sample_rate, 2),
                   "max_abs_diff_vs_in_process": float(np.abs(served - local[:served.size]).max())
                   if served.size == local.size else float("inf")}
            if asr_task is not None:
                heard = client.recognize(asr_task.name, served, sample_rate=tts_task.sample_rate)[0]["text"]
                row["asr_heard"] = heard.decode() if isinstance(heard, bytes) else str(heard)
            rows.append(row)
    plot_spectrograms([r["file"] for r in rows], texts, tts_task.sample_rate, out / "synthesized.png")
    return rows


def plot_spectrograms(files, titles, sample_rate: int, png: Path) -> None:
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.audio import read_audio

    fig, axes = plt.subplots(len(files), 1, figsize=(9, 2.2 * len(files)), squeeze=False)
    for ax, path, title in zip(axes[:, 0], files, titles):
        wave, _ = read_audio(path, sample_rate=sample_rate, mono=True)
        mel = librosa.feature.melspectrogram(y=wave, sr=sample_rate, n_fft=1024, hop_length=200, n_mels=80)
        ax.imshow(librosa.power_to_db(mel, ref=np.max), origin="lower", aspect="auto", cmap="magma",
                  extent=[0, len(wave) / sample_rate, 0, 80])
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
