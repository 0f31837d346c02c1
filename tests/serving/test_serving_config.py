import pytest

from serving.config import (BatchingParameters, ModelConfig, list_versions, parse_batching_parameters,
                            parse_model_config_text, select_versions, to_text)
from zoo.errors import ConfigError

CONFIG = """
model_config_list {
  config { name: "kws" base_path: "/models/kws" model_platform: "tensorflow"
           model_version_policy { latest { num_versions: 2 } }
           version_labels { key: "stable" value: 3 } version_labels { key: "canary" value: 4 } }
  config { name: "sep" base_path: "sep" model_platform: "tensorflow" model_version_policy { all {} } }
  config { name: "tts" base_path: "/models/tts" model_version_policy { specific { versions: 7 versions: 2 } } }
}
"""


def test_model_config_text_policies_and_labels(tmp_path):
    kws, sep, tts = parse_model_config_text(CONFIG, root=tmp_path)
    assert (kws.policy, kws.num_versions, kws.labels) == ("latest", 2, {"stable": 3, "canary": 4})
    assert sep.policy == "all" and sep.base_path == str(tmp_path / "sep")
    assert (tts.policy, tts.versions) == ("specific", (2, 7))
    assert select_versions([1, 3, 4, 9], kws) == [4, 9]
    assert select_versions([1, 3], sep) == [1, 3]
    assert select_versions([1, 2, 3], tts) == [2]
    # to_text round-trips through the TF Serving proto parser.
    assert parse_model_config_text(to_text([kws, sep, tts])) == [kws, sep, tts]


@pytest.mark.parametrize("text, words", [
    ("model_config_list { config { name: 'a' } }", "name and a base_path"),
    ("model_config_list { config { name: 'a' base_path: '/x' } config { name: 'a' base_path: '/y' } }", "twice"),
    ("model_config_list { config { name: 'a' base_path: '/x' model_platform: 'onnx' } }", "model_platform"),
    ("model_config_list { conf { } }", "not a valid text ModelServerConfig"),
    ("model_config_list { config { name: 'a' base_path: '/x' model_version_policy { specific {} } } }", "no versions"),
])
def test_model_config_errors(text, words):
    with pytest.raises(ConfigError, match=words):
        parse_model_config_text(text)


def test_list_versions_ignores_staging_and_files(tmp_path):
    for name in ("1", "10", "2", ".tmp-3-99", "abc", "0"):
        (tmp_path / name).mkdir()
    (tmp_path / "5").write_text("not a folder")
    assert list_versions(tmp_path) == [1, 2, 10]
    assert list_versions(tmp_path / "missing") == []


def test_batching_parameters_round_trip_and_errors():
    p = BatchingParameters(max_batch_size=16, batch_timeout_micros=2000, max_enqueued_batches=8, num_batch_threads=1,
                           allowed_batch_sizes=(4, 8, 16))
    assert parse_batching_parameters(p.to_text()) == p
    assert parse_batching_parameters("max_batch_size { value: 8 }\n# comment\nthread_pool_name: 'x'\n").max_batch_size == 8
    with pytest.raises(ConfigError, match="unknown batching parameter"):
        parse_batching_parameters("max_batch_sise { value: 8 }")
    with pytest.raises(ConfigError, match="end at max_batch_size"):
        parse_batching_parameters("max_batch_size { value: 8 }\nallowed_batch_sizes: 4")
    with pytest.raises(ConfigError, match="positive"):
        parse_batching_parameters("max_batch_size { value: 0 }")
    with pytest.raises(ConfigError, match="integer"):
        parse_batching_parameters("max_batch_size { value: many }")


def test_model_config_dataclass_defaults():
    m = ModelConfig("a", "/x")
    assert select_versions([3, 1, 2], m) == [3]
