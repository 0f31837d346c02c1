"""`zoo export PRESET --format saved_model|tflite --precision ... [--streaming] --output DIR`.

The artifact is built in a staging folder, judged by its parity gates (export/parity.py) and only
then moved to its place; a failing artifact is never written: only its parity report is kept
under OUTPUT/rejected/ and an ExportError is raised (the CLI prints it and exits non-zero).

Layout: saved_model -> OUTPUT/<preset>/<version>/ (TF Serving model_base_path = OUTPUT/<preset>),
with metadata.json, parity.json and parity.md inside; tflite -> OUTPUT/<preset>[_stream]_<precision>.tflite
with <same stem>.json (metadata) and <same stem>.parity.{json,md} beside it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

FORMATS = ("saved_model", "tflite")


def _load(preset, weights):
    from zoo.presets import load_preset

    return load_preset(preset, weights=True, weights_path=weights)


def _eval_data(task, precision, manifest, data_root, scale, eval_limit):
    """Representative (train) and evaluation (test) clips from the preset's corpus, for quantized gates."""
    from export.parity import split_clips
    from training.pipeline import representative_waveforms

    if manifest is None:
        from training.corpora.registry import make_corpus

        manifest = make_corpus(task.preset.data["corpus"], data_root, scale=scale)
    rep = representative_waveforms(manifest, "train", 200, seed=0, clip_samples=task.clip_samples,
                                   sample_rate=task.sample_rate)
    waves, labels = split_clips(task, manifest, "test", limit=eval_limit)
    return rep, waves, labels


def _reject(results, output: Path, name: str):
    from export import parity

    parity.write_report(results, output / "rejected" / name, artifact=name)
    parity.enforce(results)


def export_saved_model_gated(task, output: Path, *, streaming=False, version=1) -> Path:
    from export import parity
    from export.opcheck import check_saved_model
    from export.saved_model import METADATA_FILE, export_saved_model, file_digests

    model_name = task.name
    staging = output / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        path = export_saved_model(task, staging, model_name=model_name, version=version, streaming=streaming)
        if task.kind == "synthesis":
            results = [parity.keras_vs_saved_model_synthesis(task, path)]
        else:
            probes = parity.probe_waveforms(task)
            results = [parity.keras_vs_saved_model(task, path, probes)]
        if streaming:
            results.append(parity.saved_model_stream_vs_whole(task, path, probes))
        ops = check_saved_model(path, raise_on_error=False)
        results.append(parity.GateResult("opcheck_core_ops", ops.ok, float(len(ops.offenders)), 0.0,
                                         {"distinct_ops": len(ops.ops), "offenders": sorted(ops.offenders)}))
        if not all(r.passed for r in results):
            _reject(results, output, f"{model_name}-{version}")
        parity.write_report(results, path, artifact=f"{model_name}/{version}")
        meta = json.loads((path / METADATA_FILE).read_text())
        meta["files"] = file_digests(path)
        (path / METADATA_FILE).write_text(json.dumps(meta, indent=1))
        final = output / model_name / str(version)
        if final.exists():
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(final))
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_tflite_gated(task, output: Path, precision: str, *, streaming=False, representative=None,
                        eval_waves=None, eval_labels=None, per_channel=True, keep_names=False,
                        unroll=False) -> Path:
    from export import parity, tflite
    from export.saved_model import endpoint_schema

    stem = f"{task.name}{'_stream' if streaming else ''}_{precision}"
    if precision == "int8" and not per_channel:
        stem += "_per_tensor"
    unroll = unroll and tflite.has_rolled_rnn(task) and not streaming  # streaming is always unrolled
    if unroll:
        stem += "_unrolled"
    content = tflite.convert(task, precision, representative=representative, streaming=streaming,
                             per_channel=per_channel, unroll=unroll)
    if not keep_names:  # the gates judge the bytes that are written
        content = tflite.strip_debug_names(content)
    probes = parity.probe_waveforms(task)
    results = []
    if precision in parity.TOL_TFLITE:
        if streaming:
            results.append(parity.stream_vs_whole(task, probes))
            results.append(parity.tflite_stream_vs_whole(task, content, probes, precision))
        else:
            results.append(parity.keras_vs_tflite(task, content, probes, precision))
    else:
        results.append(parity.quantized_accuracy(task, content, eval_waves, eval_labels, precision,
                                                 streaming=streaming))
    mem = tflite.memory_report(content)
    flex = sorted({op for op in tflite.model_ops(content) if op.startswith("Flex")})
    results.append(parity.GateResult("builtin_ops_only", not flex, float(len(flex)), 0.0, {"flex_ops": flex}))
    if not all(r.passed for r in results):
        _reject(results, output, stem)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{stem}.tflite"
    tmp = path.with_suffix(".tflite.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    parity.write_report(results, output / f"{stem}.parity", artifact=path.name, extra={"memory": mem})
    for name in ("parity.json", "parity.md"):  # flatten: <stem>.parity.json beside the model
        (output / f"{stem}.parity" / name).replace(output / f"{stem}.{name}")
    (output / f"{stem}.parity").rmdir()
    from zoo.presets import sha256_file

    schema = endpoint_schema(task, None)
    meta = {"format": "tflite", "precision": precision, "streaming": streaming, "preset": task.name,
            "int8_scales": ("per_channel" if per_channel else "per_tensor") if precision == "int8" else None,
            "recurrences": ("unrolled" if unroll or streaming else "rolled") if tflite.has_rolled_rnn(task) else None,
            "sample_rate": task.sample_rate, "labels": list(task.labels), "signature": "serve",
            "inputs": ["audio + state (see export/streaming.py)"] if streaming else
            [{"name": "waveform", "dtype": "float32", "shape": [1, task.clip_samples]}],
            "outputs": ["scores", "label_ids", "state"] if streaming else ["scores"],
            "memory": mem, "sha256": sha256_file(path), "schema": schema}
    (output / f"{stem}.json").write_text(json.dumps(meta, indent=1))
    return path


def export_command(preset, format, precision, streaming, output, weights=None, *, manifest=None,
                   data_root="data", scale="full", version=1, eval_limit=None, per_channel=True,
                   keep_names=False, unroll=False) -> int:
    """Export `preset` (hub weights, or the `weights` file) after its gates pass; 0 on success.

    Raises zoo.errors.ExportError when the artifact fails a gate (nothing is written but the
    report under OUTPUT/rejected/), CheckpointError when the preset has no weights.
    """
    from zoo.errors import ExportError

    if format not in FORMATS:
        raise ExportError("unknown export format", received=format, expected=" | ".join(FORMATS))
    if not per_channel and precision != "int8":
        raise ExportError("per-tensor scales apply to int8 only", received=f"--precision {precision}",
                          expected="--precision int8 with --per-tensor", fix="drop --per-tensor")
    if unroll and format != "tflite":
        raise ExportError("--unroll applies to TFLite models", received=f"--format {format}",
                          expected="--format tflite --unroll", fix="drop --unroll")
    if format == "saved_model" and precision not in (None, "float32"):
        raise ExportError("SavedModels are exported in float32", received=precision, expected="float32",
                          fix="use --format tflite for float16 / dynamic / int8")
    output = Path(output)
    task = _load(preset, weights)
    if task.kind == "synthesis" and (format != "saved_model" or streaming):
        raise ExportError("text-to-speech presets export as a SavedModel (the text lexicon is a lookup table)",
                          received=f"--format {format}{' --streaming' if streaming else ''}",
                          expected="--format saved_model", fix="export the vocoder to TFLite on its own "
                          "(training.vocoder_train / benchmarks/vocoder_rtf.py)")
    if format == "saved_model":
        path = export_saved_model_gated(task, output, streaming=streaming, version=version)
    else:
        precision = precision or "float32"
        rep = waves = labels = None
        if precision in ("int8", "dynamic"):
            rep, waves, labels = _eval_data(task, precision, manifest, data_root, scale, eval_limit)
        path = export_tflite_gated(task, output, precision, streaming=streaming, representative=rep,
                                   eval_waves=waves, eval_labels=labels, per_channel=per_channel,
                                   keep_names=keep_names, unroll=unroll)
    print(f"exported {preset} -> {path} (parity gates passed)", file=sys.stdout)
    return 0
