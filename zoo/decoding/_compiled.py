"""A tf.function kept on the layer that owns it: the beam searches call a decoder step once per frame
or label with a few hypotheses; traced once (shapes relaxed) it runs several times faster than eagerly."""

from __future__ import annotations

import tensorflow as tf


def compiled(owner, name: str, fn):
    """tf.function(fn) cached on `owner` under `name` (outside Keras attribute tracking)."""
    cache = owner.__dict__.setdefault("_compiled_steps", {})
    if name not in cache:
        cache[name] = tf.function(fn, reduce_retracing=True)
    return cache[name]
