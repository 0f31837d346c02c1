"""ModelManager: which versions of which models are loaded, following models.config and the
version folders under each base_path. Polling loads a new version (and replays its warmup) before
the old one leaves routing; a version that fails to load or warm up is refused and the versions
already serving keep serving. States follow TF Serving's ModelVersionStatus."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from serving.config import ModelConfig, list_versions, select_versions
from serving.errors import ServingError
from serving.servable import Servable

log = logging.getLogger("serving")


@dataclass
class VersionState:
    state: str = "START"  # START LOADING AVAILABLE UNLOADING END
    error_code: str = "OK"
    error_message: str = ""
    servable: Servable | None = None
    mtime: float = 0.0


@dataclass
class _Model:
    config: ModelConfig
    versions: dict = field(default_factory=dict)  # int -> VersionState


class ModelManager:
    def __init__(self, *, batching=None, max_elements: int = 1 << 24, on_event=None):
        self._batching = batching
        self._max_elements = max_elements
        self._models: dict[str, _Model] = {}
        self._lock = threading.RLock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._on_event = on_event or (lambda *a: None)

    # ------------------------------------------------------------------ configuration
    def set_config(self, models: list[ModelConfig]) -> None:
        """Replace the configured models (ModelService.HandleReloadConfigRequest) and load them."""
        with self._lock:
            keep = {m.name for m in models}
            removed = [name for name in self._models if name not in keep]
            for m in models:
                if m.name in self._models:
                    self._models[m.name].config = m
                else:
                    self._models[m.name] = _Model(m)
        self.poll()
        with self._lock:
            gone = [self._models.pop(name) for name in removed]
        for model in gone:
            for v, st in list(model.versions.items()):
                self._unload(model, v, st)

    def model_names(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def poll(self) -> None:
        """One pass over every base_path: load wanted versions, then unload unwanted ones."""
        with self._poll_lock:
            with self._lock:
                models = list(self._models.values())
            for model in models:
                self._poll_model(model)

    def _poll_model(self, model: _Model) -> None:
        cfg = model.config
        on_disk = list_versions(cfg.base_path)
        wanted = select_versions(on_disk, cfg)
        for v in wanted:
            st = model.versions.get(v)
            path = f"{cfg.base_path}/{v}"
            mtime = _mtime(path)
            if st is not None and st.state == "AVAILABLE":
                continue
            if st is not None and st.state == "END" and st.mtime == mtime:
                continue  # refused before and unchanged: do not retry every poll
            self._load(model, v, path, mtime)
        available = [v for v, st in model.versions.items() if st.state == "AVAILABLE"]
        if not any(v in wanted for v in available):
            return  # nothing wanted is serving (e.g. a broken new version): keep what serves
        for v in available:
            if v not in wanted:
                self._unload(model, v, model.versions[v])
        for v in [v for v, st in model.versions.items() if st.state == "END" and v not in on_disk]:
            del model.versions[v]

    def _load(self, model: _Model, version: int, path: str, mtime: float) -> None:
        st = VersionState(state="LOADING", mtime=mtime)
        with self._lock:
            model.versions[version] = st
        t0 = time.perf_counter()
        try:
            servable = Servable(model.config.name, version, path, batching=self._batching,
                                max_elements=self._max_elements)
            servable.warmup()
        except Exception as exc:  # any failure refuses the version; the server keeps serving
            st.state, st.error_code = "END", "FAILED_PRECONDITION" if not isinstance(exc, ServingError) else exc.code
            st.error_message = f"version {version} failed to load: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            log.error("model %s: %s", model.config.name, st.error_message)
            self._on_event("load_failed", model.config.name, version)
            return
        with self._lock:
            st.servable, st.state = servable, "AVAILABLE"
        log.info("model %s version %d loaded in %.2fs", model.config.name, version, time.perf_counter() - t0)
        self._on_event("loaded", model.config.name, version)

    def _unload(self, model: _Model, version: int, st: VersionState) -> None:
        with self._lock:
            if st.state != "AVAILABLE":
                return
            st.state = "UNLOADING"
        servable, st.servable = st.servable, None
        if servable is not None:
            servable.close()  # requests already holding it finish; queued batches run first
        st.state = "END"
        self._on_event("unloaded", model.config.name, version)

    # ------------------------------------------------------------------ polling thread
    def start_polling(self, interval_s: float) -> None:
        if interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._poll_loop, args=(interval_s,), name="version-poller", daemon=True)
        self._thread.start()

    def _poll_loop(self, interval_s):
        while not self._stop.wait(interval_s):
            try:
                self.poll()
            except Exception:  # a poll error must never kill the poller
                log.exception("version poll failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            models = list(self._models.values())
        for model in models:
            for v, st in list(model.versions.items()):
                self._unload(model, v, st)

    # ------------------------------------------------------------------ routing and status
    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise ServingError("NOT_FOUND", f"model {name!r} is not served",
                                   expected=", ".join(sorted(self._models)) or "no models configured")
            if label:
                if label not in model.config.labels:
                    raise ServingError("NOT_FOUND", f"model {name!r} has no version label {label!r}",
                                       expected=", ".join(sorted(model.config.labels)) or "no labels configured")
                version = model.config.labels[label]
            if version is not None:
                st = model.versions.get(int(version))
                if st is None or st.state != "AVAILABLE":
                    loaded = sorted(v for v, s in model.versions.items() if s.state == "AVAILABLE")
                    raise ServingError("NOT_FOUND", f"model {name!r} version {version} is not available",
                                       expected=f"one of {loaded}")
                return st.servable
            loaded = [v for v, s in model.versions.items() if s.state == "AVAILABLE"]
            if not loaded:
                raise ServingError("UNAVAILABLE" if model.versions else "NOT_FOUND",
                                   f"model {name!r} has no available version yet",
                                   received=f"base_path {model.config.base_path}", fix="export a version there, or wait for it to load")
            return model.versions[max(loaded)].servable

    def status(self, name: str, version: int | None = None) -> list[tuple[int, VersionState]]:
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise ServingError("NOT_FOUND", f"model {name!r} is not served", expected=", ".join(sorted(self._models)))
            items = sorted(model.versions.items())
            if version is not None:
                items = [(v, st) for v, st in items if v == int(version)]
                if not items:
                    raise ServingError("NOT_FOUND", f"model {name!r} has no version {version}")
            return items

    def ready(self) -> bool:
        """Every configured model has an available version (REST readiness / gRPC health)."""
        with self._lock:
            return bool(self._models) and all(
                any(st.state == "AVAILABLE" for st in m.versions.values()) for m in self._models.values())


def _mtime(path) -> float:
    import os

    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
