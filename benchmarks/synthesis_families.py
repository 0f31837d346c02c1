"""Synthesis families side by side on held-out tts-slt-synth sentences: the reference voice, the
vocoders on the reference's own mel (Griffin-Lim, GAN vocoder), and text-to-speech (FastSpeech +
Griffin-Lim, FastSpeech + GAN vocoder). One table (PocketSphinx WER and its ratio to the reference
audio's, MCD, MR-STFT distance, real-time factor), listening samples of one sentence per system in
docs/samples/ and their spectrograms in one figure; writes the "synthesis-families" section of
docs/benchmarks.md.

    python benchmarks/synthesis_families.py [--sentences 30] [--gan runs/voc_gan_slt/generator.keras]

Systems whose weights are missing (the GAN vocoder lives in runs/, trained by
`python -m training.vocoder_train`) are left out and named in the section. WaveNet is not in the
table: its incremental generation runs slower than real time on a CPU (see the "wavenet" section);
its sample (docs/samples/wavenet_slt.wav) is in the figure when present.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"
TTS_PRESET = "tts_fastspeech_slt"


def systems(rows, root: Path, gan_path: Path):
    """{name: synthesize(text) -> (waveform, rate)} for every system whose weights exist, and notes."""
    import keras
    import tensorflow as tf

    import zoo
    from zoo.audio import read_audio
    from training.vocoder_train import griffin_lim as make_griffin_lim
    from training.vocoder_train import griffin_lim_waveform
    from zoo.families.synthesis.synthesis_protocol import TTS_MEL, clip_mel
    from zoo.tasks.synthesis import TextToSpeech

    paths = {r["text"]: r["path"] for r in rows}

    def reference_mel(text):
        wave, _ = read_audio(root / paths[text], sample_rate=TTS_MEL["sample_rate"], mono=True)
        return clip_mel(wave[None].astype(np.float32)), wave.size

    mel_spec = [tf.TensorSpec([None, None, TTS_MEL["num_mel_bins"]], tf.float32)]  # traced once for any length
    griffin_lim = tf.function(make_griffin_lim(32), input_signature=mel_spec)
    rate = TTS_MEL["sample_rate"]

    def reference(text):
        return read_audio(root / paths[text], sample_rate=rate, mono=True)[0], rate

    def gl_on_reference(text):
        mel, _ = reference_mel(text)
        return griffin_lim_waveform(griffin_lim, mel.numpy()[0]), rate

    tts = zoo.load(TTS_PRESET)
    out = {"reference voice (flite slt)": reference, "Griffin-Lim 32 it. on the reference mel": gl_on_reference,
           "FastSpeech + Griffin-Lim (text)": lambda text: (tts.predict_text(text)["waveform"], rate)}
    notes = []
    if gan_path.exists():
        import zoo.families.synthesis.gan_vocoder.gan_vocoder_generator  # noqa: F401  (registers it)

        generator = keras.saving.load_model(gan_path, safe_mode=True)
        gan = tf.function(generator, input_signature=mel_spec)

        def gan_on_reference(text):
            mel, n = reference_mel(text)
            return gan(mel).numpy()[0, :n], rate

        tts_gan = TextToSpeech(tts.backbone, rate, vocoder=generator, lexicon=tts.lexicon, tail_frames=16,
                               name="tts_fastspeech_gan")
        out["GAN vocoder on the reference mel"] = gan_on_reference
        out["FastSpeech + GAN vocoder (text)"] = lambda text: (tts_gan.predict_text(text)["waveform"], rate)
    else:
        notes.append(f"GAN vocoder rows left out: no generator at {gan_path} (train it with "
                     "`python -m training.vocoder_train`).")
    return out, notes


def spectrogram_figure(named_waves, rate: int, png: Path, title: str) -> None:
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(named_waves), 1, figsize=(9, 1.9 * len(named_waves)), squeeze=False)
    for ax, (name, wave) in zip(axes[:, 0], named_waves):
        mel = librosa.feature.melspectrogram(y=wave, sr=rate, n_fft=1024, hop_length=200, n_mels=80)
        ax.imshow(librosa.power_to_db(mel, ref=np.max, top_db=80), origin="lower", aspect="auto", cmap="magma",
                  extent=[0, len(wave) / rate, 0, 80])
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[-1, 0].set_xlabel("seconds")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=60)
    plt.close(fig)


def slug(name: str) -> str:
    """'FastSpeech + Griffin-Lim (text)' -> 'fastspeech_griffin_lim_text'."""
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())[:40]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--gan", default="runs/voc_gan_slt/generator.keras")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    from benchmarks.report import machine, write_section
    from training.corpora.registry import make_corpus
    from training.manifest import read_manifest
    from training.synthesis_eval import evaluate_tts
    from zoo.audio import read_audio, write_audio
    from zoo.metrics.intelligibility import PocketSphinxRecognizer
    from zoo.text.sentence_grammar import SentenceGrammar

    where = machine()
    manifest = make_corpus("tts-slt-synth", Path(args.data_root), seed=0, scale="full")
    root = manifest.parent
    rows = read_manifest(manifest, required=("path", "split", "text"))
    found, notes = systems(rows, root, Path(args.gan))
    recognizer = PocketSphinxRecognizer([r["text"] for r in rows if r["split"] == "train"],
                                        vocabulary=SentenceGrammar().vocabulary())
    table = ["| system | PocketSphinx WER | WER ratio to the reference audio | MCD (dB) | MR-STFT | RTF |",
             "|---|---|---|---|---|---|"]
    sample = next(r for r in rows if r["split"] == "test")
    figure = []
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name, synthesize in found.items():
        result = evaluate_tts(synthesize, rows, root, num_sentences=args.sentences, recognizers=("pocketsphinx",),
                              pocketsphinx=recognizer)
        ps = result["pocketsphinx"]
        table.append(f"| {name} | {100 * ps['synthesized']['wer']:.1f}% | {ps['wer_ratio']:.2f} | "
                     f"{result['mcd_db']:.2f} | {result['mr_stft']['total']:.3f} | {result['real_time_factor']:.4f} |")
        print(table[-1], flush=True)
        wave, rate = synthesize(sample["text"])
        wave = np.asarray(wave, np.float32)
        write_audio(SAMPLES / f"synthesis_{slug(name)}.wav", np.clip(wave, -1.0, 1.0), rate)
        figure.append((name, wave))
    wavenet = SAMPLES / "wavenet_slt.wav"
    if wavenet.exists():
        figure.append(("WaveNet on the reference mel (see the wavenet section)", read_audio(wavenet, mono=True)[0]))
    spectrogram_figure(figure, 16000, SAMPLES / "synthesis_families.png", f"\"{sample['text']}\" (held-out sentence)")
    body = "\n".join([
        "## Synthesis families (held-out tts-slt-synth sentences)", "",
        f"Measured by `benchmarks/synthesis_families.py` on {where}: the first {args.sentences} test sentences "
        "(never seen in training). PocketSphinx uses one closed-vocabulary trigram of the training sentences "
        "for every row (zoo.metrics.intelligibility); the issue's gate is a WER ratio <= 2 against the "
        "reference audio. MCD is DTW-aligned on silence-trimmed clips; MR-STFT is not aligned (meaningful "
        "for the vocoder rows, which keep the reference's timing). RTF: synthesis wall time / audio seconds "
        "(TensorFlow's default threads; one-thread vocoder RTFs are in the vocoders section).", "",
        *table, "", *[f"- {n}" for n in notes],
        f"Listening samples of \"{sample['text']}\" per system: `docs/samples/synthesis_*.wav`.", "",
        "![spectrograms](samples/synthesis_families.png)"])
    print(body)
    if not args.no_write:
        write_section("synthesis-families", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
