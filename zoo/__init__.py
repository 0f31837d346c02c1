"""audio-zoo: Keras 3 models for audio recognition, separation and synthesis.

Nothing heavy happens at import (DESIGN.md 4.11): TensorFlow loads on first use of a model.
"""

__version__ = "0.1.0"


def load(name: str, **kwargs):
    """Return the Task for preset `name` with its pretrained weights (see zoo.presets)."""
    from zoo.presets import load_preset

    return load_preset(name, **kwargs)


def list_presets(task: str | None = None):
    from zoo.presets import list_presets as _list

    return _list(task=task)
