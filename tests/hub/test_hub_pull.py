"""zoo.hub: resolve presets through index.json from folders, file:// and http:// hubs; verified cache,
re-verification, offline mode, and errors that name the URL and both hashes."""

import hashlib
import json
import re

import pytest

from tests.hub.conftest import RecordingServer, listing, random_bytes, write_hub
from zoo import hub
from zoo.errors import HubError

FILES = {
    "model.weights.h5": random_bytes(200_000, 1),
    "report_test.md": b"# report\naccuracy 0.9\n",
    "saved_model/variables/variables.index": random_bytes(3000, 2),
}


@pytest.fixture
def hub_folder(hub_env):
    root = hub_env / "hub"
    write_hub(root, {"kws_tiny": FILES, "kws_other": {"model.weights.h5": random_bytes(1000, 3)}})
    return root


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def test_folder_file_url_and_http_hubs_give_the_same_verified_files(hub_folder, hub_env):
    with RecordingServer(hub_folder) as server:
        for i, url in enumerate([str(hub_folder), hub_folder.as_uri(), server.url, server.url + "/"]):
            cache = hub_env / f"cache{i}"
            folder = hub.pull("kws_tiny", hub_url=url, cache_dir=cache, progress=False)
            assert folder == cache / "hub" / "kws_tiny"
            got = listing(folder)
            assert {k: v for k, v in got.items() if not k.endswith(".lock")} == {k: _sha(v) for k, v in FILES.items()}
    assert len(server.gets("model.weights.h5")) == 2


def test_default_hub_is_zoo_hub_url_else_the_repository_folder(hub_folder, hub_env, monkeypatch):
    monkeypatch.setenv("ZOO_HUB_DIR", str(hub_folder))  # what zoo.presets.hub_dir() reads
    assert hub.default_hub_url() == str(hub_folder)
    assert set(hub.resolve_index()) == {"kws_tiny", "kws_other"}
    monkeypatch.setenv("ZOO_HUB_URL", "http://127.0.0.1:9/mirror")
    assert hub.default_hub_url() == "http://127.0.0.1:9/mirror"
    folder = hub.pull("kws_other", hub_url=hub_folder, progress=False)
    assert folder.parent.parent == hub_env / "zoo-home"  # ZOO_HOME is the cache root


def test_second_pull_verifies_the_cache_without_downloading(hub_folder, hub_env):
    with RecordingServer(hub_folder) as server:
        hub.pull("kws_tiny", hub_url=server.url, progress=False)
        hub.pull("kws_tiny", hub_url=server.url, progress=False)
        assert len(server.gets("model.weights.h5")) == 1
        assert len(server.gets("index.json")) == 2


def test_a_corrupted_cache_file_is_replaced_online_and_refused_offline(hub_folder, hub_env):
    with RecordingServer(hub_folder) as server:
        folder = hub.pull("kws_tiny", hub_url=server.url, progress=False)
        weights = folder / "model.weights.h5"
        data = bytearray(weights.read_bytes())
        data[1234] ^= 0xFF
        weights.write_bytes(bytes(data))
        with pytest.raises(HubError, match="is corrupt"):
            hub.pull("kws_tiny", hub_url=server.url, offline=True, progress=False)
        hub.pull("kws_tiny", hub_url=server.url, progress=False)
        assert len(server.gets("model.weights.h5")) == 2
    assert weights.read_bytes() == FILES["model.weights.h5"]


def test_offline_mode_reads_the_cached_index_and_files(hub_folder, hub_env, monkeypatch):
    with RecordingServer(hub_folder) as server:
        url = server.url
        with pytest.raises(HubError, match="offline and no cached index"):
            hub.pull("kws_tiny", hub_url=url, offline=True, progress=False)
        hub.pull("kws_tiny", hub_url=url, files=["model.weights.h5"], progress=False)
    # The server is gone: offline pulls work from the cache, online ones fail with the URL.
    folder = hub.pull("kws_tiny", hub_url=url, offline=True, files=["model.weights.h5"], progress=False)
    assert (folder / "model.weights.h5").read_bytes() == FILES["model.weights.h5"]
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert hub.pull("kws_tiny", hub_url=url, files=["model.weights.h5"], progress=False) == folder
    with pytest.raises(HubError, match="report_test.md is not in the cache"):
        hub.pull("kws_tiny", hub_url=url, progress=False)
    # A local hub folder needs no network, so offline mode copies from it.
    assert hub.pull("kws_other", hub_url=hub_folder, progress=False).is_dir()
    monkeypatch.delenv("ZOO_OFFLINE")
    with pytest.raises(HubError, match=re.escape(url)):
        hub.pull("kws_tiny", hub_url=url, retries=0, timeout=2, progress=False)


def test_unknown_preset_and_unknown_file_errors_say_what_exists(hub_folder, hub_env):
    with pytest.raises(HubError) as err:
        hub.pull("kws_tinny", hub_url=hub_folder, progress=False)
    assert "kws_tiny" in str(err.value) and "index.json" in str(err.value)
    with pytest.raises(HubError, match="no such file"):
        hub.pull("kws_tiny", hub_url=hub_folder, files=["model.tflite"], progress=False)
    for bad in ("../etc", ".hidden", "a/b", ""):
        with pytest.raises(HubError, match="invalid preset name"):
            hub.pull(bad, hub_url=hub_folder, progress=False)


@pytest.mark.parametrize("rel", ["../escape.bin", "/abs.bin", "a/../../b", "x\\y", "w.part", "sub//f"])
def test_an_index_that_points_outside_the_preset_folder_is_refused(hub_env, rel):
    root = hub_env / "evil"
    root.mkdir()
    record = {"sha256": "0" * 64, "size": 1}
    (root / "index.json").write_text(json.dumps({"p": {"files": {rel: record}}}))
    with pytest.raises(HubError, match="unsafe file path"):
        hub.pull("p", hub_url=root, progress=False)
    assert not (hub_env / "escape.bin").exists()


@pytest.mark.parametrize("index_text, message", [
    ('{"p": {"files": {"f": {"sha256": "abc", "size": 1}}}}', "bad record"),
    ('{"p": {"files": {"f": {"sha256": "' + "0" * 64 + '", "size": -1}}}}', "bad record"),
    ('{"p": {"nofiles": 1}}', "no 'files' object"),
    ('[1, 2]', "not a JSON object"),
    ('{"p": ', "not valid JSON"),
])
def test_a_malformed_index_is_refused_naming_its_url(hub_env, index_text, message):
    root = hub_env / "bad"
    root.mkdir()
    (root / "index.json").write_text(index_text)
    with pytest.raises(HubError, match=message) as err:
        hub.resolve_index(root)
    assert str(root / "index.json") in str(err.value)


def test_a_tampered_hub_file_fails_naming_url_expected_and_received_hash(hub_folder, hub_env):
    weights = hub_folder / "kws_tiny" / "model.weights.h5"
    tampered = FILES["model.weights.h5"][:-1] + b"\x00"
    weights.write_bytes(tampered)
    cache = hub_env / "cache"
    with RecordingServer(hub_folder) as server:
        for url in (str(hub_folder), server.url):
            with pytest.raises(HubError) as err:
                hub.pull("kws_tiny", hub_url=url, cache_dir=cache, retries=1, backoff=0, progress=False)
            message = str(err.value)
            assert "sha256 mismatch" in message and "model.weights.h5" in message
            assert url.rstrip("/") in message
            assert _sha(FILES["model.weights.h5"]) in message and _sha(tampered) in message
            assert not (cache / "hub" / "kws_tiny" / "model.weights.h5").exists()
            assert not (cache / "hub" / "kws_tiny" / "model.weights.h5.part").exists()


def test_missing_hub_folder_and_unsupported_scheme(hub_env):
    with pytest.raises(HubError, match="hub folder not found"):
        hub.resolve_index(hub_env / "nowhere")
    with pytest.raises(HubError, match="unsupported hub URL scheme 'ftp'"):
        hub.resolve_index("ftp://example.org/hub")
    (hub_env / "empty").mkdir()
    assert hub.resolve_index(hub_env / "empty") == {}  # a hub with nothing published yet


def test_progress_bar_names_the_file(hub_folder, hub_env, capsys):
    hub.pull("kws_tiny", hub_url=hub_folder, files=["model.weights.h5"], progress=True)
    assert "kws_tiny/model.weights.h5" in capsys.readouterr().err


def test_pull_command_prints_each_verified_file(hub_folder, hub_env, capsys):
    assert hub.pull_command("kws_other", hub_url=str(hub_folder), quiet=True) == 0
    out = capsys.readouterr().out
    assert "model.weights.h5" in out and "1000 bytes" in out and _sha(random_bytes(1000, 3)) in out


def test_gfile_sources_read_through_tf_io_gfile(hub_env):
    tf = pytest.importorskip("tensorflow")
    data = random_bytes(70_000, 5)
    base = f"ram://hub-{id(hub_env)}"
    tf.io.gfile.makedirs(base + "/p")
    with tf.io.gfile.GFile(base + "/p/model.weights.h5", "wb") as f:
        f.write(data)
    index = {"p": {"files": {"model.weights.h5": {"sha256": _sha(data), "size": len(data)}}}}
    with tf.io.gfile.GFile(base + "/index.json", "w") as f:
        f.write(json.dumps(index))
    folder = hub.pull("p", hub_url=base, progress=False)
    assert (folder / "model.weights.h5").read_bytes() == data
    # Offline, a remote (non-folder) hub is served from the cached index copy.
    assert hub.pull("p", hub_url=base, offline=True, progress=False) == folder


def test_zoo_load_goes_through_the_hub_and_loads_strictly(hub_env, monkeypatch):
    import keras
    import numpy as np

    import zoo
    from zoo.errors import CheckpointError
    from zoo.presets import build_task, get_preset

    name = "kws_dscnn_small_synth"
    keras.utils.set_random_seed(3)
    task = build_task(get_preset(name))
    weights = hub_env / "trained.weights.h5"
    task.save_weights(str(weights))
    root = hub_env / "hub"
    write_hub(root, {name: {"model.weights.h5": weights.read_bytes()}})
    with RecordingServer(root) as server:
        monkeypatch.setenv("ZOO_HUB_URL", server.url)
        loaded = zoo.load(name)
        assert len(server.gets("model.weights.h5")) == 1
    for a, b in zip(task.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert (hub_env / "zoo-home" / "hub" / name / "model.weights.h5").exists()
    # Offline, from the cache, with the server gone.
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    zoo.load(name)
    # The escape hatch still loads a local file; a preset missing from the index says how to fix it.
    zoo.load(name, weights_path=str(weights))
    monkeypatch.setenv("ZOO_HUB_URL", str(root))
    with pytest.raises(CheckpointError, match="no pretrained weights in the hub"):
        zoo.load("kws_dscnn_35_synth")
