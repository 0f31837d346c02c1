"""Serving benchmark (one run): server overhead over the in-process signature call for a 1 s 16 kHz
KWS request (p50/p99), and throughput at concurrency 16 with and without server-side batching.

    python benchmarks/serving_overhead.py [--preset kws_dscnn_small_synth] [--requests 500] [--seconds 8] [--rounds 3]

The server runs in a subprocess (its own GIL); the client keeps 16 requests in flight with gRPC
futures. Random weights: latency does not depend on them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentiles(ts):
    ms = np.array(ts) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def start(base, port, batching_file=None, threads=(0, 0), cpus=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "serving", "--model_name", "kws", "--model_base_path", str(base), "--port", str(port),
           "--rest_api_port", "0", "--grpc_max_threads", "16", "--file_system_poll_wait_seconds", "0",
           "--tensorflow_intra_op_parallelism", str(threads[0]), "--tensorflow_inter_op_parallelism", str(threads[1])]
    if batching_file:
        cmd += ["--enable_batching", "--batching_parameters_file", str(batching_file)]
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                            preexec_fn=pin)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        raise RuntimeError(f"server did not start: {line!r}")
    return proc


def request(x):
    from tensorflow_serving.apis import predict_pb2

    from serving.tensors import ndarray_to_proto

    req = predict_pb2.PredictRequest()
    req.model_spec.name = "kws"
    req.model_spec.signature_name = "recognize"
    ndarray_to_proto(x[None], req.inputs["waveform"])
    ndarray_to_proto(np.array([x.size], np.int32), req.inputs["waveform_length"])
    return req


def latency(stub, req, n):
    for _ in range(20):
        stub.Predict(req, timeout=10)
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        stub.Predict(req, timeout=10)
        ts.append(time.perf_counter() - t0)
    return ts


def pin_threads(cpus) -> None:
    """Every thread of this process (TensorFlow's pools, gRPC's pollers) onto `cpus`; new ones inherit."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except (ProcessLookupError, OSError):  # a thread that just ended
            pass


def cpu_seconds(pid=None) -> float:
    """User + system CPU time of a process (this one by default), from /proc."""
    fields = Path(f"/proc/{pid or 'self'}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(stub, req, seconds, concurrency=16):
    done = [0]
    end = time.monotonic() + seconds
    import threading

    sem = threading.Semaphore(concurrency)
    errors = []

    def callback(fut):
        if fut.exception() is not None:
            errors.append(fut.exception().code().name)
        else:
            done[0] += 1
        sem.release()

    t0 = time.monotonic()
    while time.monotonic() < end:
        sem.acquire()
        stub.Predict.future(req, timeout=30).add_done_callback(callback)
    for _ in range(concurrency):
        sem.acquire()
    return done[0] / (time.monotonic() - t0), errors


def main(argv=None):
    import grpc
    import keras
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    from export.saved_model import export_saved_model
    from serving.config import BatchingParameters
    from serving.demo_client import free_port
    from serving.server import configure_tensorflow_threads
    from zoo.presets import build_task, get_preset

    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="kws_dscnn_small_synth")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--batching", default="16:5000:1,8:5000:2,4:2000:2",
                   help="batching configurations compared side by side: max_batch_size:batch_timeout_micros:"
                        "num_batch_threads, comma-separated")
    p.add_argument("--tensorflow-threads", default="1:1", metavar="INTRA:INTER",
                   help="TensorFlow intra-op:inter-op threads, the same for the in-process baseline and the server "
                        "(its --tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism); 0 = TF's choice")
    p.add_argument("--rounds", type=int, default=3, help="throughput rounds (each runs every configuration)")
    p.add_argument("--no-doc", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = p.parse_args(argv)
    tf_threads = tuple(int(v) for v in args.tensorflow_threads.split(":"))
    configure_tensorflow_threads(*tf_threads)  # before TensorFlow runs its first op

    keras.utils.set_random_seed(0)
    task = build_task(get_preset(args.preset))
    tmp = Path(tempfile.mkdtemp())
    path = export_saved_model(task, tmp, model_name="kws")
    x = (0.2 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)

    fn = tf.saved_model.load(str(path)).signatures["recognize"]

    def in_process(n):
        for _ in range(20):
            fn(waveform=tf.constant(x[None]), waveform_length=tf.constant([16000]))
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(waveform=tf.constant(x[None]), waveform_length=tf.constant([16000]))["scores"].numpy()
            ts.append(time.perf_counter() - t0)
        return ts

    req = request(x)
    rows = {}
    configs = []
    for i, item in enumerate(args.batching.split(",")):
        size, micros, threads = (int(v) for v in item.split(":"))
        path_i = tmp / f"batching{i}.txt"
        path_i.write_text(BatchingParameters(max_batch_size=size, batch_timeout_micros=micros,
                                             max_enqueued_batches=64, num_batch_threads=threads).to_text())
        configs.append((f"batching (max_batch_size {size}, {micros} us timeout, {threads} thread(s))", path_i))
    runs = {mode: [] for mode, _ in [("no batching", None), *configs]}
    # Latency, two ways. Shared: client and server threads float over every core, as the OS places them.
    # Pinned: the server and the in-process baseline on the last core, the client on the others, as when
    # the client runs on another machine (its CPU time then never lands on the server's core).
    all_cpus = sorted(os.sched_getaffinity(0))
    layouts = {"shared": None} if len(all_cpus) < 2 else {"shared": None, "pinned": ({all_cpus[-1]}, set(all_cpus[:-1]))}
    overheads = {layout: [] for layout in layouts}
    for round_ in range(args.rounds):  # rounds interleave the modes, so a slow minute hits all of them
        for layout, cpus in layouts.items():
            pin_threads(cpus[0] if cpus else all_cpus)
            local = percentiles(in_process(args.requests))
            port = free_port()
            proc = start(tmp / "kws", port, None, tf_threads, cpus=cpus[0] if cpus else None)
            try:
                pin_threads(cpus[1] if cpus else all_cpus)
                stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
                served = percentiles(latency(stub, req, args.requests))
            finally:
                pin_threads(all_cpus)
                proc.terminate()
                proc.wait(30)
            overheads[layout].append((local, served))
            print(f"round {round_ + 1}, latency {layout}: in-process p50 {local[0]:.2f} ms, served p50 {served[0]:.2f} ms, "
                  f"overhead p50 {served[0] - local[0]:.2f} ms", flush=True)
        for mode, bf in [("no batching", None), *configs]:
            port = free_port()
            proc = start(tmp / "kws", port, bf, tf_threads)
            try:
                stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
                server0, client0 = cpu_seconds(proc.pid), cpu_seconds()
                rps, errors = throughput(stub, req, args.seconds)
                n = max(rps * args.seconds, 1.0)
                cpu = ((cpu_seconds(proc.pid) - server0) / n * 1e3, (cpu_seconds() - client0) / n * 1e3)
                runs[mode].append((rps, errors, cpu))
                print(f"round {round_ + 1}, {mode}: {rps:.0f} requests/s, {len(errors)} errors, CPU ms/request "
                      f"server {cpu[0]:.2f} client {cpu[1]:.2f}", flush=True)
            finally:
                proc.terminate()
                proc.wait(30)

    latency_rows = []
    for layout, rounds in overheads.items():
        (l50, l99), (s50, s99) = np.median([r[0] for r in rounds], axis=0), np.median([r[1] for r in rounds], axis=0)
        each = ", ".join(f"{sv[0] - lv[0]:.2f}" for lv, sv in rounds)
        latency_rows.append(f"| {layout} | {l50:.2f} / {l99:.2f} ms | {s50:.2f} / {s99:.2f} ms | "
                            f"**{s50 - l50:.2f} ms** ({each}) | **{s99 - l99:.2f} ms** |")
    latency_rows = "\n".join(latency_rows)
    base = [r[0] for r in runs["no batching"]]
    lines = []
    for mode, rs in runs.items():
        rps = [r[0] for r in rs]
        ratios = [a / b for a, b in zip(rps, base)]
        errors = sum(len(r[1]) for r in rs)
        cpu = np.median([r[2] for r in rs], axis=0)
        lines.append(f"| {mode} | {np.median(rps):.0f} ({', '.join(f'{v:.0f}' for v in rps)}) | {errors} | "
                     f"{np.median(ratios):.2f}x ({', '.join(f'{v:.2f}' for v in ratios)}) | {cpu[0]:.2f} | {cpu[1]:.2f} |")
    throughput_rows = "\n".join(lines)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from report import machine, write_section

    text = f"""## Serving (`benchmarks/serving_overhead.py`, one run)

Machine: {machine()}; {args.preset} (random weights: latency does not depend on their values),
1 s of 16 kHz audio per request, gRPC on 127.0.0.1, server in a subprocess; TensorFlow intra-op:inter-op threads
{args.tensorflow_threads} in the server (`--tensorflow_intra_op_parallelism`, `--tensorflow_inter_op_parallelism`) and in
the in-process baseline alike. {args.rounds} rounds, each running every configuration in turn.

Latency of one request at a time, {args.requests} per round; medians over rounds. *shared*: client and server
threads float over all cores as the OS places them; *pinned*: the server and the in-process baseline on the
last core, the client (this process) on the others, as when the client runs on another machine.

| CPU layout | in-process `recognize` signature call p50 / p99 | gRPC Predict through `zoo serve` p50 / p99 | server overhead p50 (each round) | server overhead p99 |
|---|---|---|---|---|
{latency_rows}

| concurrency 16, {args.seconds:.0f} s per round | requests/s, median (each round) | errors | vs no batching, median (each round) | server CPU ms/request | client CPU ms/request |
|---|---|---|---|---|---|
{throughput_rows}
"""
    print(text)
    if not args.no_doc:
        write_section("serving", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
