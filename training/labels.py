"""Label -> class-id mapping and split selection for classification corpora (Speech Commands protocol)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from zoo.errors import ConfigError, DataError

SILENCE = "silence"
UNKNOWN = "unknown"
SPLITS = ("train", "validation", "test")


def _check_classes(classes: Sequence[str]) -> list[str]:
    if isinstance(classes, str) or not isinstance(classes, Sequence) or not classes:
        raise ConfigError(
            "classes must be a non-empty list of label strings",
            received=repr(classes),
            expected='e.g. ["silence", "unknown", "yes", "no"]',
            fix="pass the label list of the preset (zoo.families.recognition.kws_protocol.KWS12_LABELS)",
        )
    classes = list(classes)
    bad = [c for c in classes if not isinstance(c, str) or not c]
    if bad:
        raise ConfigError("every class must be a non-empty string", received=repr(bad), expected="str labels")
    dupes = sorted(c for c, n in Counter(classes).items() if n > 1)
    if dupes:
        raise ConfigError("class labels must be unique", received=dupes, expected="each label once",
                          fix="remove the duplicates from the class list")
    return classes


def label_to_class(label: str, classes: Sequence[str]) -> int:
    """Index of `label` in `classes`; words outside `classes` map to "unknown" when that class exists.

    "silence" maps to the "silence" class and is never folded into "unknown".
    """
    classes = _check_classes(classes)
    if label in classes:
        return classes.index(label)
    if label == SILENCE:
        raise DataError(
            'the manifest has "silence" clips but the class list has no "silence" class',
            received=classes, expected='a class list containing "silence"',
            fix='add "silence" to the classes, or leave the silence clips out of the manifest',
        )
    if UNKNOWN in classes:
        return classes.index(UNKNOWN)
    raise DataError(
        f"label {label!r} is not a class and there is no {UNKNOWN!r} class to fold it into",
        received=label, expected=f"one of {classes}",
        fix=f'add "{UNKNOWN}" to the classes, or remove the {label!r} rows from the manifest',
    )


def select_rows(
    rows: Iterable[dict],
    split: str,
    classes: Sequence[str],
    *,
    unknown_ratio: float | None = 1.0,
    seed: int,
) -> list[dict]:
    """Rows of `split`, each copied with an added int "class_id", in their original order.

    The "unknown" class (words outside `classes`) is subsampled to at most
    floor(unknown_ratio x mean count of the word classes), the word classes being `classes` minus
    "silence" and "unknown" (zero counts included). The kept subset depends only on `seed` and the
    rows' paths, not on row order. `unknown_ratio=None` keeps every unknown row; silence is kept as is.
    """
    classes = _check_classes(classes)
    if split not in SPLITS:
        raise ConfigError("unknown split", received=repr(split), expected=" | ".join(SPLITS))
    if unknown_ratio is not None and (not isinstance(unknown_ratio, (int, float)) or unknown_ratio < 0):
        raise ConfigError("unknown_ratio must be a number >= 0 or None", received=repr(unknown_ratio),
                          expected="e.g. 1.0 (as many unknowns as an average word), None keeps all")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ConfigError("seed must be an int", received=repr(seed), expected="an explicit integer seed")

    selected = []
    for i, row in enumerate(rows):
        missing = [k for k in ("path", "label", "split") if k not in row]
        if missing:
            raise DataError(f"manifest row {i} lacks keys {missing}", received=sorted(row),
                            expected="path, label, split, speaker, duration, sample_rate",
                            fix="regenerate the manifest with `zoo data make ...`")
        if row["split"] == split:
            selected.append({**row, "class_id": label_to_class(row["label"], classes)})

    if UNKNOWN not in classes or unknown_ratio is None:
        return selected
    unknown_id = classes.index(UNKNOWN)
    words = [i for i, c in enumerate(classes) if c not in (SILENCE, UNKNOWN)]
    unknown_at = [i for i, r in enumerate(selected) if r["class_id"] == unknown_id]
    if not words or not unknown_at:
        return selected
    counts = Counter(r["class_id"] for r in selected)
    cap = int(np.floor(unknown_ratio * np.mean([counts.get(w, 0) for w in words])))
    if len(unknown_at) <= cap:
        return selected
    # Sort by path first so the kept subset does not depend on the manifest's row order.
    by_path = sorted(unknown_at, key=lambda i: str(selected[i]["path"]))
    rng = np.random.default_rng(int(seed))
    keep = {by_path[j] for j in rng.choice(len(by_path), size=cap, replace=False)}
    return [r for i, r in enumerate(selected) if r["class_id"] != unknown_id or i in keep]


def class_counts(rows: Iterable[dict], classes: Sequence[str]) -> dict[str, int]:
    """Rows per class name (every class listed, zeros included), from rows carrying "class_id"."""
    classes = _check_classes(classes)
    counts = Counter(int(r["class_id"]) for r in rows)
    return {c: counts.get(i, 0) for i, c in enumerate(classes)}
