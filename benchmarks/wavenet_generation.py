"""WaveNet generation speed: incremental (convolution queues, Paine et al. 2016) vs naive recomputation
of the receptive-field window per sample, one thread, with the model trained by training.wavenet_train.

    python benchmarks/wavenet_generation.py [--model runs/wavenet_slt/wavenet_slt.keras] [--seconds 1.5]

Both generators are measured (no extrapolation): naive on --naive-samples samples, incremental on
--seconds of audio from a test-split mel of tts-slt-synth (written to docs/samples/wavenet_slt.wav with a
spectrogram next to the reference in docs/samples/wavenet_slt.png). Writes the "wavenet" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import machine, write_section  # noqa: E402


def test_clip(data_root: Path, seconds: float):
    from training.wavenet_train import load_split

    (classes, mel), = load_split(data_root, "test", 1)
    from zoo.families.synthesis.wavenet.mu_law import mu_law_decode

    frames = min(mel.shape[0], int(np.ceil(seconds * 16000 / 200)))
    return mu_law_decode(classes[:frames * 200]), mel[None, :frames]


def plot(reference, generated, mel_ref, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.families.synthesis.synthesis_protocol import clip_mel

    mel_gen = clip_mel(generated[None]).numpy()[0]
    fig, axes = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
    lo = float(mel_ref.min())
    for ax, m, title in ((axes[0], mel_ref, "reference (test clip, flite slt)"),
                         (axes[1], mel_gen, "WaveNet (sampled from the reference mel)")):
        ax.imshow(m.T, origin="lower", aspect="auto", vmin=lo, vmax=float(mel_ref.max()), cmap="magma")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("mel bin")
    axes[1].set_xlabel("frame (12.5 ms)")
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/wavenet_slt/wavenet_slt.keras")
    parser.add_argument("--data-root", default="data")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--naive-samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from zoo.audio import write_audio
    from zoo.families.synthesis.wavenet.wavenet_backbone import WaveNetBackbone  # noqa: F401 (registers it)
    from zoo.families.synthesis.wavenet.wavenet_generator import WaveNetGenerator

    header = machine()
    model = keras.saving.load_model(args.model, safe_mode=True)
    gen = WaveNetGenerator(model)
    reference, mel = test_clip(Path(args.data_root), args.seconds)
    n = mel.shape[1] * 200
    kw = dict(temperature=args.temperature, seed=args.seed)

    gen.generate(mel, [0], num_samples=400, **kw)  # trace once
    t0 = time.perf_counter()
    fast = gen.generate(mel, [0], num_samples=n, **kw)
    inc_s = time.perf_counter() - t0
    gen.generate_naive(mel, [0], num_samples=2, **kw)  # trace once
    t0 = time.perf_counter()
    naive = gen.generate_naive(mel, [0], num_samples=args.naive_samples, **kw)
    naive_s = time.perf_counter() - t0
    same = bool(np.array_equal(naive["classes"][0], fast["classes"][0, :args.naive_samples]))

    samples = ROOT / "docs" / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    write_audio(samples / "wavenet_slt.wav", fast["waveform"][0], 16000)
    plot(reference, fast["waveform"][0], mel[0], samples / "wavenet_slt.png")

    metrics = json.loads((Path(args.model).parent / "metrics.json").read_text()) \
        if (Path(args.model).parent / "metrics.json").exists() else {}
    best = metrics.get("validation_best", {})
    inc_ms, naive_ms = inc_s / n * 1e3, naive_s / args.naive_samples * 1e3
    rows = [
        ("incremental (queues)", n, f"{inc_s:.2f}", f"{inc_ms:.3f}", f"{1e3 / inc_ms:,.0f}", f"{inc_s / (n / 16000):.1f}"),
        (f"naive ({gen.window_frames * 200}-sample window per sample)", args.naive_samples, f"{naive_s:.2f}",
         f"{naive_ms:.3f}", f"{1e3 / naive_ms:,.0f}", f"{naive_ms * 16:.1f}"),
    ]
    table = "\n".join(["| generator | samples generated | seconds | ms / sample | samples / s | real-time factor |",
                       "|---|---|---|---|---|---|"] + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])
    cfg = model.get_config()
    body = f"""## WaveNet generation: convolution queues vs recomputation (one thread)

Machine: {header}; TensorFlow {tf.__version__}, intra/inter-op threads 1. Model: `runs/wavenet_slt` from
`python -m training.wavenet_train --budget-minutes 15` ({cfg['num_stacks']} stacks x {cfg['layers_per_stack']}
layers, {cfg['residual_channels']} residual / {cfg['skip_channels']} skip channels, {model.count_params():,} params,
receptive field {model.receptive_field} samples; {metrics.get('steps', '?')} steps; validation cross-entropy
{best.get('cross_entropy_nats', float('nan')):.3f} nats/sample, accuracy {best.get('accuracy', float('nan')):.1%},
within +-2 classes {best.get('accuracy_within_2', float('nan')):.1%}). Conditioning: the mel of the first test
clip of tts-slt-synth; sampling at temperature {args.temperature}, seed {args.seed}. Both generators measured
(nothing extrapolated); real-time factor = generation time / audio duration (16 kHz; > 1 is slower than real
time). Incremental is {naive_ms / inc_ms:.0f}x faster per sample; the first {args.naive_samples} samples of
both are identical: {same}. Reproduce: `python benchmarks/wavenet_generation.py`.

{table}

Sample: `docs/samples/wavenet_slt.wav` ({n / 16000:.2f} s, 16-bit PCM) and `docs/samples/wavenet_slt.png`
(log-mel of the reference vs the generated audio)."""
    print(table)
    print(f"ratio {naive_ms / inc_ms:.1f}x, identical first samples: {same}")
    write_section("wavenet", body)


if __name__ == "__main__":
    main()
