"""Argument checks every corpus generator shares (scale, seed, worker count), with one wording."""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError


def check_args(scale, seed, workers, scales) -> None:
    if scale not in scales:
        raise ConfigError("unknown corpus scale", received=repr(scale), expected=f"one of {sorted(scales)}",
                          fix='use scale="full" (training) or "tiny" (tests)')
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError("seed must be a non-negative int", received=repr(seed), expected="int >= 0",
                          fix="pass e.g. seed=0")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers must be an int >= 1", received=repr(workers), expected="int >= 1",
                          fix="pass workers=2")


def is_cached(out_dir, config: dict) -> bool:
    """True when `out_dir` holds a complete corpus (manifest.jsonl, written last) made with `config`."""
    import json
    from pathlib import Path

    manifest, config_path = Path(out_dir) / "manifest.jsonl", Path(out_dir) / "config.json"
    if not (manifest.exists() and config_path.exists()):
        return False
    try:
        return json.loads(config_path.read_text()) == config
    except ValueError:
        return False


def reset_corpus_dir(out_dir) -> None:
    """Before generating: drop the manifest first (no stale manifest survives a failed run) and the audio."""
    import shutil
    from pathlib import Path

    out_dir = Path(out_dir)
    (out_dir / "manifest.jsonl").unlink(missing_ok=True)
    shutil.rmtree(out_dir / "audio", ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
