"""Real-time factor of the GAN vocoder generator (SavedModel and TFLite float32) beside Griffin-Lim
(32 iterations), on ONE CPU thread, for 2.5 s of audio (200 TTS_MEL frames); writes the "vocoders"
section of docs/benchmarks.md.

    python -m benchmarks.vocoder_rtf [--generator runs/voc_gan_slt/generator.keras] [--repeats 7]

RTF does not depend on the weights: without a trained generator the default configuration is timed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="runs/voc_gan_slt/generator.keras")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # before any op runs
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from benchmarks.report import machine, write_section
    from export.tflite import Runner
    from export.vocoder import convert_vocoder, probe_mel
    from training.vocoder_train import griffin_lim
    from zoo.families.synthesis.gan_vocoder.gan_vocoder_generator import GanVocoderGenerator
    from zoo.families.synthesis.synthesis_protocol import HOP, TTS_MEL
    from zoo.metrics.synthesis import measure_real_time_factor

    host = machine()
    path = Path(args.generator)
    generator = keras.saving.load_model(path, safe_mode=True) if path.exists() else GanVocoderGenerator()
    source = str(path) if path.exists() else "untrained default configuration"
    mel = probe_mel(args.frames)
    samples, sr = args.frames * HOP, TTS_MEL["sample_rate"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-vocoder-sm-") as tmp:
        archive = keras.export.ExportArchive()
        archive.track(generator)
        archive.add_endpoint("serve", lambda m: {"waveform": generator(m, training=False)},
                             input_signature=[tf.TensorSpec([1, None, generator.num_mel_bins], tf.float32, name="mel")])
        archive.write_out(tmp, verbose=False)
        serve = tf.saved_model.load(tmp).signatures["serve"]
        x = tf.constant(mel[None])
        rtf = measure_real_time_factor(lambda: serve(mel=x)["waveform"].numpy(), samples, sr, repeats=args.repeats)
        rows.append(("GAN vocoder generator, SavedModel (TF, 1 thread)", generator.count_params(), rtf))
    runner = Runner(convert_vocoder(generator, args.frames), num_threads=1)
    rtf = measure_real_time_factor(lambda: runner(mel=mel[None]), samples, sr, repeats=args.repeats)
    rows.append(("GAN vocoder generator, TFLite float32 (ai-edge-litert, 1 thread)", generator.count_params(), rtf))
    gl = griffin_lim(32)
    gl_fn = tf.function(lambda m: gl(m))
    rtf = measure_real_time_factor(lambda: gl_fn(x).numpy(), samples, sr, repeats=args.repeats)
    rows.append(("Griffin-Lim, 32 iterations (TF, 1 thread)", 0, rtf))

    lines = ["## Vocoders: real-time factor on one CPU thread", "",
             f"Written by benchmarks/vocoder_rtf.py. {args.frames} TTS_MEL frames ({samples / sr:.1f} s of 16 kHz "
             f"audio), median of {args.repeats} runs after one warm-up; RTF = processing time / audio duration "
             f"(< 1 is faster than real time). Generator: {source}. Machine: {host}.", "",
             "| vocoder | params | RTF |", "|---|---:|---:|"]
    lines += [f"| {name} | {params:,} | {rtf:.4f} |" for name, params, rtf in rows]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("vocoders", table)


if __name__ == "__main__":
    main()
