"""bidirectional_rnn: Bidirectional built while a model loads, where Keras shares objects by id()."""

import pathlib

import keras
import pytest
from keras.src.saving import serialization_lib


def stale_entry_for(template):
    """Keras's load scope as it is after an earlier, freed template had the same id(): its config and
    its go_backwards copy are recorded under that id."""
    earlier_backward = keras.layers.LSTM(4, return_sequences=True, go_backwards=True, name="earlier")
    config = serialization_lib.serialize_keras_object(template)
    serialization_lib.record_object_after_serialization(template, config)
    serialization_lib.record_object_after_serialization(template, dict(config))  # seen twice: shared
    serialization_lib.record_object_after_deserialization(earlier_backward, id(template))
    return earlier_backward


def test_keras_bidirectional_picks_up_a_recycled_id():
    """Why the helper exists; if a Keras upgrade makes this pass, the helper can go."""
    with serialization_lib.ObjectSharingScope():
        template = keras.layers.LSTM(4, return_sequences=True)
        stale_entry_for(template)
        with pytest.raises(ValueError, match="different `go_backwards`"):
            keras.layers.Bidirectional(template, name="blstm")


def test_bidirectional_rnn_builds_fresh_directions_inside_the_load_scope():
    from zoo.blocks.bidirectional import bidirectional_rnn

    with serialization_lib.ObjectSharingScope():
        template = keras.layers.LSTM(4, return_sequences=True)
        earlier = stale_entry_for(template)
        layer = bidirectional_rnn(template, name="blstm")
        assert layer.name == "blstm"
        assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards
        assert earlier not in (layer.forward_layer, layer.backward_layer)
        # the scope is back as it was for the rest of the load
        assert serialization_lib.get_shared_object(id(template)) is earlier
    assert serialization_lib.get_shared_object(id(template)) is None


def test_no_family_builds_a_bare_keras_bidirectional():
    root = pathlib.Path(__file__).resolve().parents[2] / "zoo"
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "layers.Bidirectional(" in p.read_text() and p.name != "bidirectional.py"]
    assert offenders == [], f"use zoo.blocks.bidirectional.bidirectional_rnn in {offenders}"
