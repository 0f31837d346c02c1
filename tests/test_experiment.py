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


def test_a_setting_the_recipe_does_not_read_is_refused():
    from training.asr_train import ASR_SETTINGS
    from training.train import CLASSIFIER_SETTINGS

    kws, asr = get_preset("kws_dscnn_small_synth"), get_preset("asr_deepspeech2_small_synth")
    # Each recipe accepts its own settings and the run settings every recipe reads ...
    exp = Experiment.from_preset(asr, {"tempo_perturb": "0.2", "seed": "3"}, recipe="ASR", reads=ASR_SETTINGS)
    assert exp.tempo_perturb == pytest.approx(0.2) and exp.seed == 3
    assert Experiment.from_preset(kws, {"reverb_prob": "0.5"}, recipe="KWS", reads=CLASSIFIER_SETTINGS).reverb_prob == 0.5
    # ... and refuses one it would silently ignore, naming it.
    for preset, reads, key in [(kws, CLASSIFIER_SETTINGS, "freq_warp"), (asr, ASR_SETTINGS, "reverb_prob"),
                               (asr, ASR_SETTINGS, "epochs")]:
        with pytest.raises(ConfigError) as err:
            Experiment.from_preset(preset, {key: "0.1" if key != "epochs" else "3"}, recipe="this recipe",
                                   reads=reads)
        assert f"this recipe does not read '{key}'" in str(err.value)


def test_experiment_json_lists_only_what_the_recipe_reads():
    from training.asr_train import ASR_SETTINGS

    exp = Experiment.from_preset(get_preset("asr_deepspeech2_small_synth"), recipe="ASR", reads=ASR_SETTINGS)
    saved = exp.to_json(ASR_SETTINGS)
    assert "reverb_prob" not in saved and "epochs" not in saved and "resume" not in saved
    assert saved["freq_warp"] == pytest.approx(0.1) and saved["preset"] == "asr_deepspeech2_small_synth"
    assert {"data_root", "output_dir", "seed", "corpus_scale"} <= set(saved)


def test_every_preset_sets_only_what_its_recipe_reads():
    from training.asr_train import ASR_SETTINGS
    from training.train import CLASSIFIER_SETTINGS
    from zoo.presets import list_presets

    for preset in list_presets():
        reads = {"SpeechRecognizer": ASR_SETTINGS, "AudioClassifier": CLASSIFIER_SETTINGS}.get(preset.task_class)
        if reads is not None:  # other recipes type their settings with their own dataclasses
            Experiment.from_preset(preset, recipe=preset.task_class, reads=reads)


def test_a_preset_setting_its_recipe_ignores_is_refused():
    from types import SimpleNamespace

    from training.asr_train import ASR_SETTINGS

    preset = SimpleNamespace(name="asr_made_up", training={"epochs": 60, "batch_size": 8})
    with pytest.raises(ConfigError, match="preset 'asr_made_up' sets training settings that ASR does not read"):
        Experiment.from_preset(preset, recipe="ASR", reads=ASR_SETTINGS)
    assert Experiment.from_preset(preset).epochs == 60  # without a recipe's list every setting is accepted
