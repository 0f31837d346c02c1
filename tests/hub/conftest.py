"""Hub folders built in tmp_path, and a loopback HTTP server that records its requests."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from zoo.hub_server import HubRequestHandler, HubServer


def write_hub(root: Path, presets: dict) -> dict:
    """presets: {name: {relative path: bytes}} -> index.json written like training/publish.py does."""
    index = {}
    for name, files in presets.items():
        records = {}
        for rel, data in files.items():
            path = root / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            records[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        index[name] = {"files": records, "metrics": {"test_accuracy": 0.9}, "recipe": f"zoo train {name}"}
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.json").write_text(json.dumps(index, indent=2))
    return index


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


class RecordingHandler(HubRequestHandler):
    def _serve(self, body):
        self.server.requests.append((self.command, self.path, self.headers.get("Range")))
        super()._serve(body)


class RecordingServer(HubServer):
    def __init__(self, root, handler=RecordingHandler):
        self.requests = []
        super().__init__(root, handler=handler)

    def gets(self, suffix: str) -> list:
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith(suffix)]


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """A clean environment: cache under tmp_path, no hub URL or offline flag inherited."""
    for var in ("ZOO_HUB_URL", "ZOO_OFFLINE", "ZOO_HUB_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "zoo-home"))
    return tmp_path


def listing(folder: Path) -> dict:
    """relative path -> sha256 of every file under folder (lock and part files included)."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for n in names:
            p = Path(dirpath) / n
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
