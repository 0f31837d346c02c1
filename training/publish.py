"""Copy a trained run into the embedded hub (hub/<preset>/ + hub/index.json), with sha256 and metrics."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from zoo.presets import WEIGHTS_FILE, hub_dir, sha256_file


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the hub is read by others (mirrors, servers)
    os.replace(tmp, path)


def publish_run(preset_name: str, run_dir: Path, hub: Path | None = None) -> dict:
    hub = Path(hub or hub_dir())
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    dest = hub / preset_name
    dest.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in (WEIGHTS_FILE, "learning_curve.png", "confusion_test.png", "report_test.md"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, dest / name)
            files[name] = {"sha256": sha256_file(dest / name), "size": (dest / name).stat().st_size}
    index_path = hub / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    from zoo.presets import get_preset

    preset = get_preset(preset_name)
    index[preset_name] = {
        "license": preset.license,
        "source": f"trained on {preset.data['corpus']} by this project's recipe",
        "files": files,
        "metrics": {k: summary[k] for k in ("test_accuracy", "validation_accuracy", "test_examples",
                                            "train_minutes", "epochs_run", "params", "macs", "machine")},
        "recipe": f"zoo train {preset_name}",
    }
    _atomic_write_text(index_path, json.dumps(dict(sorted(index.items())), indent=2) + "\n")
    return index[preset_name]
