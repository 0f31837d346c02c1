import pytest

from zoo.errors import PresetError
from zoo.presets import REQUIRED_KEYS, get_preset, list_presets

KWS_FAMILIES = {"dnn", "cnn", "ds_cnn", "crnn", "att_rnn", "tc_resnet"}


def test_every_kws_family_has_a_12_class_preset_and_dscnn_has_35_words():
    presets = list_presets(task="recognition")
    kws12 = {p.family for p in presets if p.data.get("protocol") == "kws12"}
    assert KWS_FAMILIES <= kws12
    p35 = get_preset("kws_dscnn_35_synth")
    assert len(p35.labels) == 36 and "zero" in p35.labels and "nine" in p35.labels
    assert "unknown" not in p35.labels


def test_presets_are_data_with_every_required_field():
    for p in list_presets():
        data = p.to_json()
        for key in REQUIRED_KEYS:
            # separation backbones own their transform; synthesis takes text (no audio frontend)
            if key == "frontend" and p.task in ("separation", "synthesis"):
                assert data[key] is None, p.name
                continue
            assert data[key] not in (None, ""), (p.name, key)
        if p.frontend is not None:
            assert p.sample_rate == p.frontend["config"]["sample_rate"]
        assert p.backbone["class_name"].endswith("Backbone")


def test_unknown_preset_error_suggests_close_names():
    with pytest.raises(PresetError) as err:
        get_preset("kws_dscnn_smal_synth")
    message = str(err.value)
    assert "kws_dscnn_small_synth" in message and "zoo list" in message


def test_list_filters_by_task():
    assert list_presets(task="synthesis") == [] or all(p.task == "synthesis" for p in list_presets(task="synthesis"))
    assert all(p.task == "recognition" for p in list_presets(task="recognition"))
