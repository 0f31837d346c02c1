import pytest

from training.experiment import Experiment, parse_set_args
from zoo.errors import ConfigError
from zoo.presets import get_preset


def test_preset_training_values_then_typed_overrides():
    preset = get_preset("kws_dscnn_small_synth")
    exp = Experiment.from_preset(preset, parse_set_args(["epochs=3", "learning_rate=5e-4", "augment=false"]))
    assert exp.epochs == 3 and isinstance(exp.epochs, int)
    assert exp.learning_rate == pytest.approx(5e-4)
    assert exp.augment is False
    assert exp.batch_size == preset.training.get("batch_size", Experiment.batch_size)


@pytest.mark.parametrize("item, needle", [
    ("epochz=3", "unknown experiment setting 'epochz'"),
    ("epochs=three", "bad value for 'epochs'"),
    ("augment=maybe", "bad value for 'augment'"),
    ("epochs", "key=value"),
])
def test_bad_overrides_are_explained(item, needle):
    preset = get_preset("kws_dscnn_small_synth")
    with pytest.raises(ConfigError) as err:
        Experiment.from_preset(preset, parse_set_args([item]))
    assert needle in str(err.value)
