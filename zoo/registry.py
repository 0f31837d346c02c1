"""Where names resolve to code: task classes by name, and the families' preset modules.

Families are discovered from the package layout (zoo/families/<task>/<family>/<family>_presets.py),
so adding a family folder is all it takes to register its presets. Discovery runs on first use, not
at import (DESIGN.md 4.11).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from zoo.errors import PresetError

TASK_CLASSES = {
    # name -> "module:attribute"; resolved lazily so that importing zoo stays cheap.
    "AudioClassifier": "zoo.tasks.recognition:AudioClassifier",
    "SpeechRecognizer": "zoo.tasks.speech_recognizer:SpeechRecognizer",
    "SourceSeparator": "zoo.tasks.separation:SourceSeparator",
    "TextToSpeech": "zoo.tasks.synthesis:TextToSpeech",
}


def task_class(name: str):
    if name not in TASK_CLASSES:
        raise PresetError(f"unknown task class {name!r}", received=name, expected=sorted(TASK_CLASSES))
    module, attr = TASK_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attr)


@lru_cache(maxsize=None)
def family_preset_modules() -> tuple:
    """Import every `<family>_presets` module under zoo.families, in a stable order."""
    import zoo.families as families

    modules = []
    for task_info in sorted(pkgutil.iter_modules(families.__path__), key=lambda m: m.name):
        if not task_info.ispkg:
            continue
        task_pkg = importlib.import_module(f"zoo.families.{task_info.name}")
        for fam in sorted(pkgutil.iter_modules(task_pkg.__path__), key=lambda m: m.name):
            if not fam.ispkg:
                continue
            name = f"zoo.families.{task_info.name}.{fam.name}.{fam.name}_presets"
            try:
                modules.append(importlib.import_module(name))
            except ModuleNotFoundError as exc:
                if exc.name != name:  # a real import error inside the module must surface
                    raise
    return tuple(modules)


def import_family(family: str) -> None:
    """Import a family's package so its Keras classes are registered for deserialization."""
    for module in family_preset_modules():
        parts = module.__name__.split(".")
        if parts[-2] == family:
            pkg = ".".join(parts[:-1])
            for sub in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
                importlib.import_module(f"{pkg}.{sub.name}")
            return
    raise PresetError(f"unknown family {family!r}")
