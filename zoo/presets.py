"""Presets are data (DESIGN.md 4.5): name, family, task, sample rate, params, files with sha256,
license, source, metrics. Definitions live in the families' `<family>_presets.py`; trained files and
measured metrics live in hub/ (hub/index.json + hub/<preset>/)."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zoo.errors import CheckpointError, PresetError

REQUIRED_KEYS = ("name", "family", "task", "task_class", "description", "sample_rate", "frontend",
                 "backbone", "task_config", "data", "training", "license")
WEIGHTS_FILE = "model.weights.h5"


@dataclass(frozen=True)
class Preset:
    name: str
    family: str
    task: str
    task_class: str
    description: str
    sample_rate: int
    frontend: dict
    backbone: dict
    task_config: dict
    data: dict
    training: dict
    license: str
    paper: str = ""
    source: str = ""
    files: dict = field(default_factory=dict)  # filename -> {"sha256", "size"}, from hub/index.json
    metrics: dict = field(default_factory=dict)  # measured, from hub/index.json

    @property
    def labels(self):
        return self.task_config.get("labels")

    def to_json(self) -> dict:
        return asdict(self)


def hub_dir() -> Path:
    """The embedded checkpoint store (the repository's hub/ folder); ZOO_HUB_DIR overrides it."""
    env = os.environ.get("ZOO_HUB_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "hub"


def read_hub_index(root: Path | None = None) -> dict:
    path = (root or hub_dir()) / "index.json"
    if not path.exists():
        return {}
    with open(path) as f:
        return json.load(f)


def _definitions() -> dict:
    from zoo.registry import family_preset_modules

    defs = {}
    for module in family_preset_modules():
        for raw in getattr(module, "PRESETS", []):
            missing = [k for k in REQUIRED_KEYS if k not in raw]
            if missing:
                raise PresetError(f"preset in {module.__name__} lacks keys", received=sorted(raw), expected=missing)
            if raw["name"] in defs:
                raise PresetError(f"preset {raw['name']!r} is defined twice")
            defs[raw["name"]] = raw
    return defs


def get_preset(name: str) -> Preset:
    defs = _definitions()
    if name not in defs:
        close = difflib.get_close_matches(name, list(defs), n=3)
        raise PresetError(
            f"unknown preset {name!r}",
            received=name,
            expected=f"one of {len(defs)} presets" + (f", e.g. {', '.join(close)}" if close else ""),
            fix="run `zoo list` to see every preset",
        )
    hub = read_hub_index().get(name, {})
    return Preset(**defs[name], files=hub.get("files", {}), metrics=hub.get("metrics", {}))


def list_presets(task: str | None = None) -> list[Preset]:
    presets = [get_preset(n) for n in sorted(_definitions())]
    return [p for p in presets if task is None or p.task == task]


def build_task(preset: Preset, **overrides):
    """An untrained Task for `preset` (random weights)."""
    from zoo.registry import import_family, task_class

    import_family(preset.family)
    import zoo.frontends  # noqa: F401  (registers the frontend layers)

    cls = task_class(preset.task_class)
    config = dict(preset.task_config)
    config.update(overrides)
    return cls(backbone=preset.backbone, frontend=preset.frontend, sample_rate=preset.sample_rate,
               name=preset.name, **config)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_weights_verified(task, weights_path: Path, expected_sha256: str | None) -> None:
    """Strict load: the file must match its recorded sha256 and every variable must match."""
    weights_path = Path(weights_path)
    if not weights_path.exists():
        raise CheckpointError(f"weights file missing: {weights_path.name}", fix="run `zoo train` for this preset")
    if expected_sha256:
        actual = sha256_file(weights_path)
        if actual != expected_sha256:
            raise CheckpointError(
                f"checksum mismatch for {weights_path.name}",
                received=actual, expected=expected_sha256,
                fix="the file is corrupt or was changed: delete it and pull or retrain the preset",
            )
    import warnings

    # Keras only warns about variables it skipped; a strict load treats any such warning as a mismatch.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            task.load_weights(str(weights_path))
        except ValueError as exc:
            raise CheckpointError(f"weights in {weights_path.name} do not fit the model: {exc}") from exc
    mismatches = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if mismatches:
        raise CheckpointError(
            f"weights in {weights_path.name} do not match the model ({len(mismatches)} mismatches)",
            received="; ".join(m[:160] for m in mismatches[:5]),
            expected=f"the variables of {task.name}",
            fix="load the weights into the preset they were trained for",
        )


def load_preset(name: str, *, weights: bool = True, weights_path: str | None = None):
    """Build the Task for `name` and load its pretrained weights strictly. The weights come through
    zoo.hub.pull (hub index at ZOO_HUB_URL, default hub/; verified into the ZOO_HOME cache);
    `weights_path` loads a local file instead."""
    preset = get_preset(name)
    task = build_task(preset)
    if weights:
        if weights_path is not None:
            load_weights_verified(task, Path(weights_path), None)
        else:
            import sys

            from zoo import hub

            index = hub.resolve_index()
            files = index.get(name, {}).get("files", {})
            if WEIGHTS_FILE not in files:
                raise CheckpointError(
                    f"preset {name!r} has no pretrained weights in the hub",
                    received=hub.default_hub_url(),
                    fix=f"train it with `zoo train {name}`, or pass weights=False for random weights",
                )
            folder = hub.pull(name, files=[WEIGHTS_FILE], index=index, progress=sys.stderr.isatty())
            load_weights_verified(task, folder / WEIGHTS_FILE, files[WEIGHTS_FILE]["sha256"])
    task.preset = preset
    return task
