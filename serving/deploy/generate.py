"""Generate models.config and batching parameters for a folder of exported presets
(`zoo export ... --format saved_model --output EXPORTS` gives EXPORTS/<preset>/<version>/).

    python -m serving.deploy.generate EXPORTS --out EXPORTS [--container-root /models]

base_path is written for the container (`/models/<preset>`) so the same files drive
tensorflow/serving (docker-compose.yml, kubernetes.yaml) and `zoo serve --model_config_file`
(which resolves relative paths against the config's folder: pass --container-root "")."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.config import BatchingParameters, ModelConfig, list_versions, to_text
from zoo.errors import ConfigError

# Sized for 1 s KWS requests on a few CPU cores: batches of up to 16, 2 ms wait, bounded queue.
DEFAULT_BATCHING = BatchingParameters(max_batch_size=16, batch_timeout_micros=2000, max_enqueued_batches=64,
                                      num_batch_threads=4, allowed_batch_sizes=(1, 2, 4, 8, 16))


def find_models(export_root) -> list[str]:
    root = Path(export_root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and list_versions(p)) if root.is_dir() else []


def write_configs(export_root, out_dir, *, models=None, container_root: str = "/models",
                  batching: BatchingParameters = DEFAULT_BATCHING, num_versions: int = 1) -> dict:
    """Write models.config and batching_parameters.txt into out_dir; returns their paths."""
    names = list(models or find_models(export_root))
    if not names:
        raise ConfigError("no exported models found", received=str(export_root),
                          expected="<root>/<model>/<version>/saved_model.pb",
                          fix="run `zoo export PRESET --format saved_model --output DIR` first")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs = [ModelConfig(name=n, base_path=f"{container_root.rstrip('/')}/{n}" if container_root else n,
                           num_versions=num_versions) for n in names]
    (out / "models.config").write_text(to_text(configs))
    (out / "batching_parameters.txt").write_text(batching.to_text())
    return {"models.config": out / "models.config", "batching_parameters.txt": out / "batching_parameters.txt"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m serving.deploy.generate", description=__doc__.split("\n")[0])
    p.add_argument("export_root")
    p.add_argument("--out", help="output folder (default: export_root, mounted at /models)")
    p.add_argument("--container-root", default="/models")
    p.add_argument("--models", nargs="*")
    args = p.parse_args(argv)
    for name, path in write_configs(args.export_root, args.out or args.export_root, models=args.models,
                                    container_root=args.container_root).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
