"""Evaluate a classifier Task on a corpus split: accuracy, per-class precision/recall, confusion
matrix (PNG) and a Markdown report. The Task runs on waveforms, frontend included, as it is served."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from training.reports import markdown_table, plot_confusion_matrix


def predict_split(task, manifest_path, split, *, batch_size=256, unknown_ratio=1.0, seed=0):
    """(true class ids, score matrix) over a split, in manifest order."""
    from training.pipeline import make_dataset

    ds = make_dataset(manifest_path, split, task.labels, frontend=None, batch_size=batch_size,
                      clip_samples=task.clip_samples, sample_rate=task.sample_rate, shuffle=False,
                      seed=seed, unknown_ratio=unknown_ratio)
    y_true, scores = [], []
    for waveforms, labels in ds:
        scores.append(np.asarray(task(waveforms, training=False)))
        y_true.append(labels.numpy())
    return np.concatenate(y_true), np.concatenate(scores)


def classification_metrics(y_true, scores, labels) -> dict:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_pred = scores.argmax(axis=1)
    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    return {
        "accuracy": float(np.mean(y_pred == y_true)),
        "num_examples": int(len(y_true)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
    }


def evaluate_task(task, manifest_path, split="test", *, out_dir: Path, unknown_ratio=1.0, seed=0) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    y_true, scores = predict_split(task, manifest_path, split, unknown_ratio=unknown_ratio, seed=seed)
    metrics = classification_metrics(y_true, scores, task.labels)
    metrics["split"] = split
    metrics["eval_seconds"] = round(time.perf_counter() - start, 2)
    cm = np.array(metrics["confusion_matrix"])
    plot_confusion_matrix(cm, task.labels, out_dir / f"confusion_{split}.png",
                          f"{task.name} on {split}: accuracy {metrics['accuracy']:.2%}")
    (out_dir / f"metrics_{split}.json").write_text(json.dumps(metrics, indent=2) + "\n")
    rows = [[label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"]]
            for label, m in metrics["per_class"].items()]
    report = [
        f"# {task.name}: evaluation on the {split} split",
        "",
        f"- corpus manifest: `{Path(manifest_path).name}` ({metrics['num_examples']} clips)",
        f"- accuracy: **{metrics['accuracy']:.2%}**",
        "",
        markdown_table(["class", "precision", "recall", "F1", "support"], rows),
        "",
        f"![confusion matrix](confusion_{split}.png)",
        "",
    ]
    (out_dir / f"report_{split}.md").write_text("\n".join(report))
    return metrics
