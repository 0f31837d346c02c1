"""JSONL corpus manifests: one JSON object per line, paths relative to the manifest's folder.

Clip corpora (speech-commands-synth, the real Speech Commands loader) share the keys in
CLIP_KEYS. Reading validates every line and names the line that is wrong; writing is atomic
(temp file in the same folder, then os.replace), so a manifest that exists is complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from zoo.errors import DataError

SPLITS = ("train", "validation", "test")
# The keys every clip row of the speech corpora carries.
CLIP_KEYS = ("path", "label", "split", "speaker", "engine", "duration", "sample_rate", "rate", "pitch", "seed")
REQUIRED_KEYS = ("path", "label", "split")


def read_manifest(path, *, required: Sequence[str] = REQUIRED_KEYS) -> list[dict]:
    """Rows of a JSONL manifest (blank lines skipped), each checked for the `required` keys.

    `path` values stay relative to the manifest's folder. Raises DataError naming the line on
    invalid JSON, a non-object line, a missing key, a non-string path or an unknown split.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("manifest not found", received=str(path), expected="a JSONL manifest file",
                        fix="generate the corpus first, e.g. `zoo data make speech-commands-synth`")
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where} is not valid JSON ({e.msg}, column {e.colno})",
                                received=line.strip()[:120], expected="one JSON object per line",
                                fix="regenerate the manifest or repair that line") from None
            if not isinstance(row, dict):
                raise DataError(f"{where} is not a JSON object", received=type(row).__name__,
                                expected="an object such as {\"path\": ..., \"label\": ...}",
                                fix="regenerate the manifest or repair that line")
            missing = [k for k in required if k not in row]
            if missing:
                raise DataError(f"{where} lacks required keys {missing}", received=sorted(row),
                                expected=f"keys {list(required)}", fix="regenerate the manifest")
            if "path" in row and (not isinstance(row["path"], str) or not row["path"]):
                raise DataError(f"{where} has an invalid path", received=repr(row["path"]),
                                expected="a non-empty string relative to the manifest's folder",
                                fix="regenerate the manifest")
            if "split" in row and row["split"] not in SPLITS:
                raise DataError(f"{where} has an unknown split", received=repr(row["split"]),
                                expected=f"one of {list(SPLITS)}", fix="regenerate the manifest")
            rows.append(row)
    return rows


def write_manifest(path, rows: Iterable[dict]) -> Path:
    """Write `rows` as JSONL (sorted keys: byte-identical for equal rows) atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"manifest row {i} is not a dict", received=type(row).__name__,
                            expected="dict rows", fix="pass a list of dicts")
        try:
            lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
        except (TypeError, ValueError) as e:
            raise DataError(f"manifest row {i} cannot be written as JSON ({e})", received=repr(row)[:120],
                            expected="str/int/float/bool/None/list/dict values, no NaN",
                            fix="convert numpy scalars with float()/int()") from None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
