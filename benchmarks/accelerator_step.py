"""Where an accelerator training step of a two-speaker separator spends its time -> a Markdown table.

The first H200 run of training.accelerator_separation took 193 ms per update of 32 two-second crops
(166 crops/s), far below what the chip should do for a 391k-parameter Conv-TasNet. This splits the
step: the mixing workers alone (batches/s from the process pool) and one compiled update on a batch
already in memory (the model and optimizer alone), for several batch sizes and both ways of computing
the separator's dilated depthwise convs (zoo.blocks.portable_depthwise_conv: XLA's grouped convolution,
"conv", or shifted multiply-adds, "shifts", which the layer uses off TensorFlow). Run it on the lent
machine as one call (any Keras backend; JAX there):

    KERAS_BACKEND=jax python benchmarks/accelerator_step.py --pack .devpack [--batch-sizes 16 32 64]

It prints the table and writes it to --out (default accelerator_step.md) to bring back; with
--write-docs it also replaces the accelerator-step section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _mixing_rate(pack: Path, batch: int, crop: int, workers: int, batches: int) -> float:
    """Batches per second the spawn pool delivers (after its start-up)."""
    from training.fresh_mixtures import init_worker, worker_batch

    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=(str(pack / "pack.npz"),)) as pool:
        list(pool.imap(worker_batch, [(0, i, batch, crop) for i in range(workers)]))  # start-up
        start = time.perf_counter()
        list(pool.imap(worker_batch, [(1, i, batch, crop) for i in range(batches)]))
        return batches / (time.perf_counter() - start)


def _step_seconds(backbone, batch: int, crop: int, steps: int) -> float:
    """Median seconds of one update on a batch in memory (compiled; the first calls are warm-up)."""
    rng = np.random.default_rng(0)
    sources = (0.05 * rng.standard_normal((batch, 2, crop))).astype(np.float32)
    mixture = sources.sum(axis=1)
    for _ in range(3):
        backbone.train_on_batch(mixture, sources)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = backbone.train_on_batch(mixture, sources)
        float(np.asarray(loss))  # wait for the device
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    import keras

    from training.accelerator_separation import _machine_description, _preset
    from training.separation_train import make_loss
    from zoo.blocks.portable_depthwise_conv import DepthwiseConv1D as PortableDepthwiseConv1D
    from zoo.registry import import_family
    from zoo.tasks.recognition import _as_layer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--preset", default="sep_convtasnet_small_2spk")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--depthwise", nargs="+", default=["conv", "shifts"], choices=["conv", "shifts"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("accelerator_step.md"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    preset = _preset(args.preset)
    crop = json.loads(str(np.load(args.pack / "pack.npz")["meta"]))["crop"]
    workers = args.workers or max(1, (os.cpu_count() or 2) - 2)
    import_family(preset.family)
    rows = ["| batch | depthwise convs | update, batch in memory | crops/s (update alone) | mixing: batches/s "
            f"({workers} workers) | crops/s (mixing alone) | bound by |", "|---|---|---|---|---|---|---|"]
    for batch in args.batch_sizes:
        rate = _mixing_rate(args.pack, batch, crop, workers, max(2 * workers, args.steps))
        for depthwise in args.depthwise:
            backbone = _as_layer(preset.backbone, "backbone")
            for layer in backbone.layers:
                if isinstance(layer, PortableDepthwiseConv1D):
                    layer.implementation = depthwise
            backbone.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0), loss=make_loss("pit_si_sdr"))
            step = _step_seconds(backbone, batch, crop, args.steps)
            rows.append(f"| {batch} | {depthwise} | {1000 * step:.1f} ms | {batch / step:,.0f} | {rate:.1f} | "
                        f"{batch * rate:,.0f} | {'update' if batch / step < batch * rate else 'mixing'} |")
            print(rows[-1], flush=True)
    text = "\n".join(["## Accelerator training step (Conv-TasNet on JAX)", "",
                      f"Written by `benchmarks/accelerator_step.py` on {_machine_description()}; {args.preset}, "
                      f"crops of {crop} samples, median of {args.steps} updates after 3 warm-up ones.", "", *rows])
    args.out.write_text(text + "\n")
    print(text)
    if args.write_docs:
        from report import write_section

        print(write_section("accelerator-step", text))


if __name__ == "__main__":
    main()
