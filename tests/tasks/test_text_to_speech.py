"""TextToSpeech: the in-graph lexicon, the length regulator, the FastSpeech backbone, the task's
synthesize contract, save/load, the SavedModel synthesize endpoint, and a tiny overfit."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import small_tts_task as small_task
from zoo.errors import ConfigError

TEXTS = ["Turn ON the kitchen light!", "call xqz at 7", "it's 'quoted' here", "set a timer for five minutes"]


@pytest.fixture(scope="module")
def task():
    return small_task()


@pytest.fixture(scope="module")
def lexicon():
    from zoo.text.phoneme_lexicon import PhonemeLexicon, default_entries

    return PhonemeLexicon(default_entries())


def test_lexicon_graph_equals_python(lexicon):
    ids, lengths = lexicon(tf.constant(TEXTS))
    for i, text in enumerate(TEXTS):
        assert ids[i, :lengths[i]].numpy().tolist() == lexicon.encode(text)
    assert lexicon.phonemes("") == ["|"]
    for unspeakable in ("", "!!!", "\x00"):  # nothing to say: refused in the graph
        with pytest.raises(tf.errors.InvalidArgumentError, match="no speakable words"):
            lexicon(tf.constant([unspeakable]))
    # unknown words are spelled letter by letter; digits say their number word
    assert lexicon.phonemes("xq") == ["|", *lexicon.entries["x"].split(), "|", *lexicon.entries["q"].split(), "|"]
    assert lexicon.phonemes("7") == ["|", *lexicon.entries["seven"].split(), "|"]
    assert lexicon.phonemes("Light!") == lexicon.phonemes("light")


def test_committed_lexicon_is_what_espeak_builds():
    pytest.importorskip("ctypes")
    import ctypes.util

    if ctypes.util.find_library("espeak-ng") is None:
        pytest.skip("libespeak-ng is not installed (make deps installs it)")
    from zoo.text.phoneme_lexicon import build_entries, default_entries

    assert build_entries() == default_entries()


def test_lexicon_rejects_bad_entries():
    from zoo.text.phoneme_lexicon import PhonemeLexicon

    with pytest.raises(ConfigError, match="non-empty"):
        PhonemeLexicon({})
    with pytest.raises(ConfigError, match="spell every letter"):
        PhonemeLexicon({"hi": "h aɪ"})
    with pytest.raises(ConfigError, match="outside the inventory"):
        PhonemeLexicon({c: "ʘ" for c in "abcdefghijklmnopqrstuvwxyz"})


def test_length_regulator_repeats_like_numpy():
    from zoo.blocks.length_regulator import LengthRegulator

    enc = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    dur = np.array([[2, 0, 3, 1], [1, 1, 0, 0]], np.int32)
    frames, length = LengthRegulator()(enc, dur)
    assert length.numpy().tolist() == [6, 2]
    assert frames.shape == (2, 6, 3)
    np.testing.assert_array_equal(frames[0].numpy(), np.repeat(enc[0], dur[0], axis=0))
    np.testing.assert_array_equal(frames[1, :2].numpy(), np.repeat(enc[1], dur[1], axis=0))
    np.testing.assert_array_equal(frames[1, 2:].numpy(), 0.0)


def test_backbone_teacher_forced_lengths_and_batch_independence(task):
    bb = task.backbone
    ids = np.array([[1, 5, 6, 1, 7, 1], [1, 9, 1, 0, 0, 0]], np.int32)
    dur = np.array([[3, 2, 4, 1, 5, 2], [2, 6, 3, 9, 9, 9]], np.int32)  # durations on padding are ignored
    out = bb({"token_ids": ids, "durations": dur})
    assert out["mel_length"].numpy().tolist() == [17, 11]
    assert out["mel"].shape == (2, 17, 80)
    alone = bb({"token_ids": ids[1:, :3], "durations": dur[1:, :3]})
    np.testing.assert_allclose(alone["mel"][0].numpy(), out["mel"][1, :11].numpy(), atol=1e-5)


def test_predicted_lengths_do_not_depend_on_the_batch():
    """Padding must not reach the last tokens' predicted durations (served batches mix lengths)."""
    task = small_task(seed=3)
    texts = ["yes", "turn on the kitchen light", "no"]
    ids, _ = task.lexicon(tf.constant(texts))
    batch = task.backbone({"token_ids": ids})["mel_length"].numpy()
    alone = [int(task.backbone({"token_ids": task.lexicon(tf.constant([t]))[0]})["mel_length"][0]) for t in texts]
    assert batch.tolist() == alone


def test_synthesize_lengths_batch_and_silence(task):
    out = task.synthesize(tf.constant(TEXTS[:2]))
    wave, length = out["waveform"].numpy(), out["waveform_length"].numpy()
    assert wave.shape[0] == 2 and wave.shape[1] == length.max()
    assert np.all(length % 200 == 0) and np.all(length > 0)
    ids, _ = task.lexicon(tf.constant(TEXTS[:2]))
    batch = task({"token_ids": ids})
    for i in range(2):
        assert np.all(wave[i, length[i]:] == 0.0)
        alone = task({"token_ids": task.lexicon(tf.constant(TEXTS[i:i + 1]))[0]})
        n = int(alone["mel_length"][0])
        assert n * 200 == length[i]
        # The mel is batch-independent up to float rounding of differently shaped convolutions ...
        np.testing.assert_allclose(alone["mel"][0, :n].numpy(), batch["mel"][i, :n].numpy(), atol=1e-5)
        # ... which Griffin-Lim's phase iterations amplify a little (ill-conditioned near-zero bins):
        # the same waveform to within 30 dB (measured: 39.6 dB on this random model).
        single = task.predict_text(TEXTS[i])["waveform"]
        error = np.sum((single - wave[i, :length[i]]) ** 2) / np.sum(single ** 2)
        assert 10 * np.log10(error) < -30


def test_predict_text_rejects_bad_text(task):
    for bad in ("", "   ", "?!", None, 5, "x" * 1001, "xyz " * 200):
        with pytest.raises(ConfigError):
            task.predict_text(bad)
    with pytest.raises(ConfigError, match="from text"):
        task.predict_waveform(np.zeros(100, np.float32))


def test_save_load_safe_mode(task, tmp_path):
    path = tmp_path / "tts.keras"
    task.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    a = task.synthesize(tf.constant(TEXTS[3:]))["waveform"].numpy()
    b = loaded.synthesize(tf.constant(TEXTS[3:]))["waveform"].numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert loaded.get_config()["lexicon"]["config"]["entries"] == task.lexicon.entries


def test_saved_model_synthesize_endpoint(task, tmp_path):
    from export.saved_model import METADATA_FILE, export_saved_model, read_warmup_requests

    path = export_saved_model(task, tmp_path, model_name="tts")
    meta = json.loads((path / METADATA_FILE).read_text())
    assert meta["task_kind"] == "synthesis"
    assert set(meta["signatures"]) == {"synthesize", "serving_default"}
    assert [t["name"] for t in meta["signatures"]["synthesize"]["inputs"]] == ["text"]
    assert [t["name"] for t in meta["signatures"]["synthesize"]["outputs"]] == ["waveform", "waveform_length"]
    assert [r["signature_name"] for r in read_warmup_requests(path / "assets.extra" / "tf_serving_warmup_requests")] \
        == ["synthesize", "serving_default"]
    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["synthesize"]
    served = fn(text=tf.constant(TEXTS[:2]))
    local = task.synthesize(tf.constant(TEXTS[:2]))
    np.testing.assert_allclose(served["waveform"].numpy(), local["waveform"].numpy(), atol=1e-5)
    np.testing.assert_array_equal(served["waveform_length"].numpy(), local["waveform_length"].numpy())
    for bad in ([""], ["  "], ["..."], ["x" * 1001]):
        with pytest.raises(tf.errors.InvalidArgumentError):
            fn(text=tf.constant(bad))


def test_tiny_overfit_reduces_mel_and_duration_loss():
    from training.tts_train import make_trainer

    task = small_task(seed=1)
    rng = np.random.default_rng(0)
    ids = np.array([[1, 5, 6, 1, 7, 8, 1]], np.int32)
    dur = np.array([[2, 4, 3, 1, 5, 4, 2]], np.int32)
    mel = (-7.9 + rng.normal(size=(1, 21, 80))).astype(np.float32)
    trainer = make_trainer(task.backbone, 1.0)
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    x = {"token_ids": ids, "durations": dur}
    before = trainer.evaluate(x, mel, verbose=0, return_dict=True)
    trainer.fit(x, mel, epochs=60, batch_size=1, verbose=0)
    after = trainer.evaluate(x, mel, verbose=0, return_dict=True)
    assert after["mel_l1"] < 0.8 * before["mel_l1"]
    assert after["duration_mse"] < 0.2 * before["duration_mse"]


def test_gated_export_passes_parity_and_opcheck(task, tmp_path):
    import json as _json

    from export.cli import export_saved_model_gated

    path = export_saved_model_gated(task, tmp_path / "out")
    report = _json.loads((path / "parity.json").read_text())
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["keras_vs_saved_model"]["passed"] and gates["opcheck_core_ops"]["passed"]
