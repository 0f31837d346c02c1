"""Safe loading of `.keras` checkpoints: the archive's config is inspected before anything is
deserialized, so a Lambda layer (arbitrary Python) or a class that neither Keras nor the zoo
registers is refused with a CheckpointError; the rest loads under Keras safe_mode."""

from __future__ import annotations

import json
from pathlib import Path

from zoo.errors import CheckpointError
from zoo.hub import _sha256


def _walk_classes(config, found: list) -> None:
    if isinstance(config, dict):
        if "class_name" in config:
            found.append((config.get("module"), config["class_name"], config.get("registered_name")))
        for value in config.values():
            _walk_classes(value, found)
    elif isinstance(config, list):
        for value in config:
            _walk_classes(value, found)


def load_checkpoint(path, *, expected_sha256: str | None = None, custom_objects: dict | None = None):
    """Load a `.keras` archive under Keras safe_mode. Refuses Lambda layers (arbitrary code) and
    classes that are neither Keras's nor registered, before Keras deserializes anything."""
    import zipfile

    path = Path(path)
    if path.suffix != ".keras" or not path.is_file():
        raise CheckpointError("not a .keras checkpoint file", received=str(path),
                              expected="an existing file ending in .keras",
                              fix="save models with model.save('name.keras')")
    if expected_sha256 is not None and _sha256(path) != expected_sha256:
        raise CheckpointError(f"checksum mismatch for {path.name}", received=_sha256(path),
                              expected=expected_sha256, fix="the file is corrupt or was changed: pull it again")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a valid .keras archive: {exc}",
                              fix="re-save the model with model.save('name.keras')") from exc
    classes: list = []
    _walk_classes(config, classes)
    lambdas = sorted({c for _, c, _ in classes if c in ("Lambda", "__lambda__")})
    if lambdas:
        raise CheckpointError(f"{path.name} contains a Lambda layer, which runs arbitrary Python code",
                              received=lambdas, expected="layers registered with keras.saving",
                              fix="replace the Lambda by a registered layer; zoo checkpoints never contain one")
    import keras

    import zoo.frontends  # noqa: F401  (registers the zoo's layers)
    from zoo.registry import TASK_CLASSES, family_preset_modules, import_family, task_class

    for module in family_preset_modules():
        import_family(module.__name__.split(".")[-2])
    for task_name in TASK_CLASSES:
        task_class(task_name)
    unknown = sorted({reg or cls for mod, cls, reg in classes if not _known_class(mod, cls, reg, custom_objects)})
    if unknown:
        raise CheckpointError(f"{path.name} contains classes that are neither Keras's nor registered",
                              received=unknown, expected="Keras classes or classes registered with "
                              "@keras.saving.register_keras_serializable",
                              fix="import the module that registers them, or pass custom_objects")
    try:
        return keras.saving.load_model(path, custom_objects=custom_objects, safe_mode=True, compile=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path.name} cannot be loaded under safe_mode: {exc}",
                              fix="re-save it from a model built from registered layers") from exc


def _known_class(module, class_name, registered_name, custom_objects) -> bool:
    import keras

    if custom_objects and (class_name in custom_objects or registered_name in custom_objects):
        return True
    if registered_name and keras.saving.get_registered_object(registered_name) is not None:
        return True
    if registered_name and registered_name != class_name and ">" in registered_name:
        return False  # a package-registered class that nothing here registers
    # Keras imports only its own packages' modules when it deserializes, and fails on a name it
    # lacks (mapped to CheckpointError below); any other module would need a registration.
    return module is None or module == "builtins" or module.split(".")[0] in ("keras", "keras_hub")


__all__ = ["load_checkpoint"]
