"""keras.layers.Bidirectional that can be built inside keras.saving.load_model.

Bidirectional.__init__ serializes its template RNN twice (forward and backward copies). While a
model loads, Keras deduplicates serialized objects by id(); once the template of an earlier
Bidirectional has been freed, a new template can get the same id() and Keras hands back the earlier
copy, so both directions come out go_backwards=True (a ValueError, intermittent because it depends
on id() reuse) or two Bidirectionals share one layer. A template built in a model's own __init__ is
never meant to be shared, so `bidirectional_rnn` builds the wrapper with that deduplication suspended.
"""

from __future__ import annotations

import contextlib

import keras
from keras.src.backend.common import global_state  # keras is pinned; the maps below are its sharing scope

_SHARING_MAPS = ("shared_objects/id_to_obj_map", "shared_objects/id_to_config_map")


@contextlib.contextmanager
def object_sharing_suspended():
    """Within: Keras serializes and deserializes without its by-id() object sharing."""
    saved = {key: global_state.get_global_attribute(key) for key in _SHARING_MAPS}
    for key in _SHARING_MAPS:
        global_state.set_global_attribute(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            global_state.set_global_attribute(key, value)


def bidirectional_rnn(rnn: keras.layers.Layer, name: str, **kwargs) -> keras.layers.Bidirectional:
    """keras.layers.Bidirectional(rnn, name=name, **kwargs), safe to build while a model loads."""
    with object_sharing_suspended():
        return keras.layers.Bidirectional(rnn, name=name, **kwargs)
