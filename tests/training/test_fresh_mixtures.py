"""Mixtures on the fly from packed word clips (training.fresh_mixtures) and the accelerator training
steps (training.accelerator_separation: pack here, train on any Keras backend, adopt here)."""

import json
import shutil

import numpy as np
import pytest

from training.corpora import speech_mixtures as sm
from training.fresh_mixtures import PackedSpeechBank, fresh_batch, init_worker, pack_word_clips, worker_batch
from zoo.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def all_clips(speech_manifest):
    return pack_word_clips(speech_manifest, max_bytes=10**9, progress=False)


def test_pack_keeps_every_training_voice_within_the_budget(speech_manifest, speech_speakers):
    small = pack_word_clips(speech_manifest, max_bytes=30000, progress=False)
    assert set(small["word_speaker"]) == set(speech_speakers["train"])
    last_clip = int(small["word_length"].max()) * 2
    assert 30000 <= small["word_audio"].nbytes < 30000 + last_clip
    assert small["word_audio"].dtype == np.int16
    np.testing.assert_array_equal(small["word_start"][1:], np.cumsum(small["word_length"])[:-1])


def test_packed_bank_draws_what_the_corpus_bank_draws(speech_manifest, all_clips):
    """With every clip packed, the same generator state gives the same speakers, words and levels, and
    the same audio up to the 16-bit grid the clips are packed on."""
    files, packed = sm.SpeechBank(speech_manifest), PackedSpeechBank(all_clips)
    assert list(packed.by_split["train"]) == list(files.by_split["train"])
    for seed in range(3):
        a = sm.draw_two_speakers(files, "train", np.random.default_rng(seed))
        b = sm.draw_two_speakers(packed, "train", np.random.default_rng(seed))
        assert a[0] == b[0] and a[2:] == b[2:]
        for (wave_a, words_a, paths_a), (wave_b, words_b, paths_b) in zip(a[1], b[1]):
            assert words_a == words_b and paths_a == paths_b
            np.testing.assert_allclose(wave_b, wave_a, atol=2e-3 * np.abs(wave_a).max())


def test_fresh_batch_follows_the_corpus_recipe(all_clips):
    bank = PackedSpeechBank(all_clips)
    long_crop = 8000 * 6  # longer than any utterance: whole mixtures, zero-padded
    batch = fresh_batch(bank, np.random.default_rng(0), 6, long_crop).astype(np.float64) / 32768.0
    assert batch.shape == (6, 2, long_crop)
    for s1, s2 in batch:
        n = max(np.flatnonzero(s1).max(), np.flatnonzero(s2).max()) + 1
        mix = (s1 + s2)[:n]
        level = 10 * np.log10(np.mean(mix ** 2))
        peak_capped = np.abs(np.concatenate([mix, s1, s2])).max() > 0.89
        assert sm.MIX_RMS_RANGE_DB[0] - 0.1 <= level <= sm.MIX_RMS_RANGE_DB[1] + 0.1 or peak_capped
        sir = 10 * np.log10(np.mean(s1[:n] ** 2) / np.mean(s2[:n] ** 2))
        assert sm.SIR_RANGE_DB[0] - 0.1 <= sir <= sm.SIR_RANGE_DB[1] + 0.1
    crops = fresh_batch(bank, np.random.default_rng(1), 4, 4000)
    assert crops.shape == (4, 2, 4000) and crops.dtype == np.int16 and np.all(np.abs(crops).max(axis=2) > 0)


def test_worker_batches_are_reproducible_from_seed_and_index(tmp_path, all_clips):
    np.savez(tmp_path / "pack.npz", **all_clips)
    init_worker(str(tmp_path / "pack.npz"))
    first = worker_batch((3, 0, 2, 4000))
    np.testing.assert_array_equal(first, worker_batch((3, 0, 2, 4000)))
    assert not np.array_equal(first, worker_batch((3, 1, 2, 4000)))


def test_packed_bank_refuses_another_rate(all_clips):
    bank = PackedSpeechBank(all_clips)
    row = bank.by_split["train"]["v0"][0]
    with pytest.raises(DataError, match="mixtures' rate"):
        bank.clip(row, 16000)


def test_pack_train_adopt_round_trip(tmp_path, speech_manifest):
    """pack -> train (here on TensorFlow; on the GPU machine the same code runs on JAX) -> adopt: the
    adopted task holds the trained backbone's weights and its summary counts the chain's cost."""
    from training import accelerator_separation as acc
    from zoo.presets import WEIGHTS_FILE, build_task, get_preset
    from zoo.tasks.recognition import _as_layer

    preset = get_preset("sep_convtasnet_causal_2spk")
    data = tmp_path / "data"
    shutil.copytree(speech_manifest.parent, data / sm.SPEECH_CORPUS)
    sm.make_speech_mixtures(data, scale="tiny", progress=False, workers=1)
    start = build_task(preset)
    init = tmp_path / "start" / WEIGHTS_FILE
    init.parent.mkdir()
    start.save_weights(str(init))
    (init.parent / "summary.json").write_text(json.dumps({"train_minutes": 3.0, "train_examples_seen": 40}))

    pack = acc.pack(preset.name, tmp_path / "pack", data_root=str(data), word_mb=0.05, validation=2,
                    crop_seconds=0.5, init=str(init))
    meta = json.loads((pack / "pack.json").read_text())
    assert meta["init"] == str(init) and meta["crop"] == 4000 and meta["validation"] == 2
    run = tmp_path / "gpu1"
    record = acc.train(preset.name, pack, run, minutes=5.0, batch_size=2, steps_per_epoch=2, epochs=2, workers=1)
    assert record["epochs"] == 2 and record["updates"] == 4 and record["train_examples_seen"] == 8
    assert json.loads((run / "experiment.json").read_text())["init_weights"] == str(init)  # the pack's start
    runs = [run, run]  # adopted as a chain of two calls (as a device session splits its time): costs add up
    trained = _as_layer(preset.backbone, "backbone")
    trained.load_weights(str(runs[-1] / acc.BEST_FILE))

    summary = acc.adopt(preset.name, runs, data_root=str(data), output_dir=str(tmp_path / "runs"), test_examples=2)
    adopted = build_task(preset)
    adopted.load_weights(str(tmp_path / "runs" / preset.name / WEIGHTS_FILE))
    for a, b in zip(adopted.backbone.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    records = [json.loads((run / "train_time.json").read_text()) for run in runs]
    assert summary["train_examples_seen"] == sum(r["train_examples_seen"] for r in records)
    assert summary["epochs_run"] == sum(r["epochs"] for r in records)
    assert summary["machine"] == records[-1]["machine"] and "Keras" in summary["machine"]
    assert summary["continued_from"]["weights"] == str(init) and summary["continued_from"]["train_minutes"] == 3.0
    assert {"si_sdri", "sdr", "sir", "sar"} <= set(summary["test"])


def test_only_two_speaker_presets_are_packed(tmp_path):
    from training import accelerator_separation as acc

    with pytest.raises(ConfigError, match="two-speaker presets"):
        acc.pack("enh_dtln_hearing_16k", tmp_path)
    with pytest.raises(DataError, match="zoo data make speech-mixtures-2spk"):
        acc.pack("sep_convtasnet_small_2spk", tmp_path, data_root=str(tmp_path / "nothing"))
