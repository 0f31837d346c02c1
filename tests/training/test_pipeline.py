"""Labels, stateless augmentation and the tf.data pipeline, on a tiny synthetic corpus."""

import json
import time

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf

from training.augment import NUM_DRAWS, AugmentConfig, Augmenter
from training.labels import class_counts, label_to_class, select_rows
from training.pipeline import (dataset_class_counts, dataset_size, make_dataset, read_manifest,
                               representative_waveforms)
from zoo.errors import ConfigError, DataError
from zoo.families.recognition.kws_protocol import KWS_LOGMEL
from zoo.frontends.registry import build_frontend
from zoo.frontends.spec_augment import SpecAugment

SR = 16000
CLASSES = ["silence", "unknown", "yes", "no", "up"]
WORDS = {"yes": 300.0, "no": 450.0, "up": 600.0, "cat": 750.0, "dog": 900.0, "bird": 1050.0}


def _sine(freq, n=SR, amp=0.1):
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / SR)).astype(np.float32)


def _dominant(x):
    spectrum = np.abs(np.fft.rfft(np.asarray(x) * np.hanning(len(x))))
    return np.argmax(spectrum) * SR / len(x)


def _write_corpus(root, per_word=4):
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True)
    rows = []
    labels = [w for w in WORDS for _ in range(per_word)] + ["silence"] * per_word
    for i, label in enumerate(labels):
        split = ("train", "train", "validation", "test")[i % 4] if i % per_word else "train"
        x = np.zeros(SR, np.float32) if label == "silence" else _sine(WORDS[label], amp=0.3)
        x = x + 0.01 * rng.standard_normal(SR).astype(np.float32)
        path = f"audio/{label}_{i:03d}.wav"
        sf.write(root / path, x, SR, subtype="PCM_16")
        rows.append(dict(path=path, label=label, split=split, speaker=f"s{i % 3}", duration=1.0, sample_rate=SR))
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "manifest.jsonl"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return _write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def frontend():
    return build_frontend(KWS_LOGMEL)


@pytest.fixture(scope="module")
def banks():
    rng = np.random.default_rng(3)
    noise = [rng.standard_normal(3 * SR).astype(np.float32), rng.standard_normal(SR // 2).astype(np.float32)]
    decay = np.exp(-np.arange(4000) / 600.0)
    rirs = [np.concatenate([np.zeros(50), decay * rng.standard_normal(4000)]).astype(np.float32) for _ in range(3)]
    return noise, rirs


def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


# ---- labels ----

def test_label_to_class_maps_words_silence_and_unknown():
    assert label_to_class("yes", CLASSES) == 2
    assert label_to_class("silence", CLASSES) == 0
    assert label_to_class("cat", CLASSES) == 1
    with pytest.raises(DataError, match="no 'unknown' class"):
        label_to_class("cat", ["silence", "yes"])
    with pytest.raises(DataError, match='no "silence" class'):
        label_to_class("silence", ["unknown", "yes"])
    with pytest.raises(ConfigError, match="unique"):
        label_to_class("yes", ["yes", "yes"])


def _rows(counts, split="train"):
    return [dict(path=f"{w}/{i}.wav", label=w, split=split) for w, n in counts.items() for i in range(n)]


def test_select_rows_subsamples_unknown_deterministically():
    rows = _rows({"yes": 10, "no": 6, "up": 2, "cat": 20, "dog": 20, "silence": 9}) + _rows({"yes": 3}, "test")
    picked = select_rows(rows, "train", CLASSES, unknown_ratio=1.5, seed=1)
    counts = class_counts(picked, CLASSES)
    # mean of the word classes = (10 + 6 + 2) / 3 = 6 -> at most floor(1.5 * 6) = 9 unknowns
    assert counts == {"silence": 9, "unknown": 9, "yes": 10, "no": 6, "up": 2}
    assert all(r["split"] == "train" for r in picked)
    assert [r["class_id"] for r in picked if r["label"] == "no"] == [3] * 6
    again = select_rows(list(reversed(rows)), "train", CLASSES, unknown_ratio=1.5, seed=1)
    assert {r["path"] for r in again} == {r["path"] for r in picked}
    other = select_rows(rows, "train", CLASSES, unknown_ratio=1.5, seed=2)
    assert {r["path"] for r in other} != {r["path"] for r in picked}
    assert len(select_rows(rows, "train", CLASSES, unknown_ratio=None, seed=1)) == 67
    with pytest.raises(ConfigError, match="unknown split"):
        select_rows(rows, "dev", CLASSES, seed=0)


# ---- augmentations in isolation ----

def _aug(banks=None, **fields):
    noise, rirs = banks if banks else ([], [])
    return Augmenter(AugmentConfig.off(**fields), noise, rirs, SR)


def test_augmenter_is_deterministic_per_seed(banks):
    aug = Augmenter(AugmentConfig(pitch_shift_prob=0.5), *banks, SR)
    x = _sine(440.0)
    a, b, c = aug(x, [1, 2]).numpy(), aug(x, [1, 2]).numpy(), aug(x, [1, 3]).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # Per-example draws: an example is augmented the same alone or inside a batch.
    draws = tf.stack([aug.draw([1, 2]), aug.draw([1, 3])])
    batch = aug.apply(np.stack([x, x]), draws).numpy()
    np.testing.assert_allclose(batch[0], a, atol=1e-5)
    np.testing.assert_allclose(batch[1], c, atol=1e-5)


@pytest.mark.parametrize("colored", [0.0, 1.0])
def test_noise_is_mixed_at_the_drawn_snr(banks, colored):
    aug = _aug(banks, noise_prob=1.0, colored_noise_prob=colored, snr_db=(0.0, 25.0))
    x = _sine(440.0)
    for seed in ([0, 1], [0, 2], [5, 9]):
        drawn = float(aug.params(aug.draw(seed)[None])["snr_db"][0])
        y = aug(x, seed).numpy()
        measured = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
        assert abs(measured - drawn) < 0.5, (seed, measured, drawn)


def test_quiet_clips_get_noise_at_an_absolute_level(banks):
    aug = _aug(banks, noise_prob=1.0, quiet_noise_dbfs=(-30.0, -30.0))
    y = aug(np.zeros(SR, np.float32), [4, 4]).numpy()
    assert abs(10 * np.log10(np.mean(y ** 2)) + 30.0) < 0.1


@pytest.mark.parametrize("exponent", [0.0, 2.0])
def test_colored_noise_has_the_drawn_spectral_slope(exponent):
    aug = _aug(noise_prob=1.0, colored_noise_exponent=(exponent, exponent), quiet_noise_dbfs=(-20.0, -20.0))
    y = aug(np.zeros(SR, np.float32), [7, 7]).numpy()
    f, psd = scipy.signal.welch(y, SR, nperseg=1024)
    band = (f > 100) & (f < 4000)
    slope = np.polyfit(np.log10(f[band]), np.log10(psd[band]), 1)[0]
    assert abs(slope + exponent) < 0.3


def test_gain_in_db():
    y = _aug(gain_db=(-6.0, -6.0))(_sine(440.0), [0, 0]).numpy()
    ratio_db = 10 * np.log10(np.mean(y ** 2) / np.mean(_sine(440.0) ** 2))
    assert abs(ratio_db + 6.0) < 0.01


def test_speed_perturbation_scales_frequency():
    for factor in (0.9, 1.1):
        y = _aug(speed_range=(factor, factor))(_sine(440.0), [0, 0]).numpy()
        assert abs(_dominant(y[1000:-1000]) - 440.0 * factor) < 3.0


def test_pitch_shift_scales_frequency_and_keeps_timing():
    aug = _aug(pitch_shift_prob=1.0, pitch_shift_semitones=(3.0, 3.0))
    y = aug(_sine(440.0), [0, 0]).numpy()
    assert abs(_dominant(y) - 440.0 * 2 ** 0.25) < 3.0
    burst = _sine(440.0)
    burst[:6000] = 0
    burst[10000:] = 0
    energy = np.convolve(aug(burst, [0, 0]).numpy() ** 2, np.ones(160), "same")
    active = np.flatnonzero(energy > 0.5 * energy.max())
    assert abs(active[0] - 6000) < 320 and abs(active[-1] - 10000) < 320


def test_time_shift_moves_an_impulse():
    aug = _aug(time_shift_s=0.1)
    x = np.zeros(SR, np.float32)
    x[8000] = 0.5
    shifts = set()
    for seed in range(6):
        shift = int(aug.params(aug.draw([seed, 0])[None])["shift_samples"][0])
        y = aug(x, [seed, 0]).numpy()
        assert abs(shift) <= 1600 and np.argmax(np.abs(y)) == 8000 + shift and y.max() == pytest.approx(0.5)
        shifts.add(shift)
    assert len(shifts) > 1


def test_reverb_convolves_with_the_normalised_rir(banks):
    _, rirs = banks
    aug = _aug(banks, reverb_prob=1.0)
    x = np.zeros(SR, np.float32)
    x[2000] = 0.5
    y = aug(x, [3, 1]).numpy()
    index = int(aug.params(aug.draw([3, 1])[None])["rir_index"][0])
    h = rirs[index][np.argmax(np.abs(rirs[index])):]
    h = h / h[0]
    # Direct path kept at the input level and time; the tail is the RIR's.
    np.testing.assert_allclose(y[2000:2000 + len(h)], 0.5 * h, atol=1e-5)
    tail = np.sum(y[2000 + SR // 100:] ** 2) / np.sum(y ** 2)
    assert tail > 0.3 and np.sum(x[2000 + SR // 100:] ** 2) == 0


def test_spec_augment_masks_bands_with_the_mean():
    aug = Augmenter(AugmentConfig.off(num_freq_masks=2, num_time_masks=2), [], [], SR)
    features = tf.random.stateless_normal([3, 49, 40], [0, 0]) + 5.0
    draws = tf.stack([aug.spec_augment_draws([i, 0]) for i in range(3)])
    out = aug.apply_spec_augment(features, draws).numpy()
    for b in range(3):
        changed = out[b] != features[b].numpy()
        mean = features[b].numpy().mean()
        np.testing.assert_allclose(out[b][changed], mean, rtol=1e-6)
        freq_cols = np.flatnonzero(changed.all(axis=0))
        time_rows = np.flatnonzero(changed.all(axis=1))
        assert len(freq_cols) <= 2 * 7 and len(time_rows) <= 2 * 10
    np.testing.assert_array_equal(aug.apply_spec_augment(features, draws).numpy(), out)


def test_bad_configs_raise_config_errors():
    with pytest.raises(ConfigError, match="probability"):
        AugmentConfig(noise_prob=1.5)
    with pytest.raises(ConfigError, match="low <= high"):
        AugmentConfig(snr_db=(20.0, 0.0))
    with pytest.raises(DataError, match="RIR bank is empty"):
        Augmenter(AugmentConfig(reverb_prob=0.5), [], [], SR)
    assert NUM_DRAWS == Augmenter(AugmentConfig.off(), [], [], SR).draw([0, 0]).shape[0]


# ---- pipeline ----

def test_manifest_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")
    (tmp_path / "m.jsonl").write_text('{"path": "a.wav", "label": "yes", "split": "train"}\n{oops\n')
    with pytest.raises(DataError, match="line 2"):
        read_manifest(tmp_path / "m.jsonl")
    (tmp_path / "m.jsonl").write_text('{"path": "a.wav", "label": "yes", "split": "train"}\n')
    with pytest.raises(DataError, match="a.wav"):
        make_dataset(tmp_path / "m.jsonl", "train", CLASSES, batch_size=2)


def test_features_equal_frontend_of_clean_waveforms(manifest, frontend):
    rows = select_rows(read_manifest(manifest), "validation", CLASSES, seed=0)
    ds = make_dataset(manifest, "validation", CLASSES, frontend=frontend, batch_size=4, shuffle=False)
    batches = _batches(ds)
    features = np.concatenate([b[0] for b in batches])
    ids = np.concatenate([b[1] for b in batches])
    assert features.dtype == np.float32 and features.shape == (len(rows), 49, 40)
    assert ids.dtype == np.int32 and list(ids) == [r["class_id"] for r in rows]
    clean = np.stack([sf.read(manifest.parent / r["path"], dtype="float32")[0] for r in rows])
    np.testing.assert_allclose(features, frontend(clean).numpy(), atol=1e-4)


def test_waveforms_when_no_frontend(manifest):
    x, y = next(iter(make_dataset(manifest, "train", CLASSES, batch_size=5, seed=0)))
    assert x.shape == (5, SR) and x.dtype == tf.float32 and y.dtype == tf.int32


def test_augmented_pipeline_is_deterministic(manifest, frontend, banks):
    aug = Augmenter(AugmentConfig(reverb_prob=0.5, pitch_shift_prob=0.3), *banks, SR)

    def make(seed, **kw):
        kw = dict(dict(epoch=0, num_epochs=2), **kw)
        return _batches(make_dataset(manifest, "train", CLASSES, frontend=frontend, batch_size=4,
                                     augmenter=aug, spec_augment=aug, seed=seed, **kw))

    a, b, c = make(7), make(7), make(8)
    size = dataset_size(manifest, "train", CLASSES)
    assert len(a) == 2 * int(np.ceil(size / 4))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))
    # Epochs differ, and epoch=1 resumes exactly where an uninterrupted run would be.
    per_epoch = len(a) // 2
    assert not np.array_equal(a[0][0], a[per_epoch][0])
    resumed = make(7, epoch=1, num_epochs=1)
    for (xa, ya), (xr, yr) in zip(a[per_epoch:], resumed):
        np.testing.assert_array_equal(xa, xr)
        np.testing.assert_array_equal(ya, yr)
    # Each epoch holds every selected clip once.
    labels = np.concatenate([y for _, y in a[:per_epoch]])
    counts = dataset_class_counts(manifest, "train", CLASSES)
    assert sorted(labels.tolist()) == sorted(i for i, c in enumerate(CLASSES) for _ in range(counts[c]))


def test_unknown_ratio_reaches_the_dataset(manifest):
    counts = dataset_class_counts(manifest, "train", CLASSES, unknown_ratio=0.5)
    mean_words = np.mean([counts[w] for w in ("yes", "no", "up")])
    assert counts["unknown"] == int(np.floor(0.5 * mean_words))
    assert dataset_size(manifest, "train", CLASSES, unknown_ratio=None) > dataset_size(manifest, "train", CLASSES)


@pytest.mark.parametrize("cache", [True, False])
def test_decoded_cache_survives_epochs(tmp_path, monkeypatch, cache):
    # 8 kHz files take the py_function decoder, which lets the test count decodes.
    import training.pipeline as pipeline

    rows = []
    for i in range(5):
        sf.write(tmp_path / f"{i}.wav", _sine(300 + 100 * i, 8000), 8000, subtype="PCM_16")
        rows.append(dict(path=f"{i}.wav", label="yes", split="train"))
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    calls = []
    real = pipeline._read_foreign
    monkeypatch.setattr(pipeline, "_read_foreign", lambda path, rate: calls.append(path) or real(path, rate))
    ds = make_dataset(tmp_path / "m.jsonl", "train", CLASSES, batch_size=2, seed=0, num_epochs=3,
                      cache_decoded=cache)
    assert len(_batches(ds)) == 9
    assert len(calls) == (5 if cache else 15)


def test_other_rates_lengths_and_channels_are_converted(tmp_path):
    t = np.arange(24000) / 24000
    tone = 0.25 * np.sin(2 * np.pi * 500 * t)
    sf.write(tmp_path / "rate.wav", tone.astype(np.float32), 24000, subtype="FLOAT")
    sf.write(tmp_path / "stereo.wav", np.stack([_sine(500, amp=0.2), -_sine(500, amp=0.2) * 0 + 0.1], 1),
             SR, subtype="PCM_16")
    sf.write(tmp_path / "short.wav", _sine(500, 8000), SR, subtype="PCM_16")
    long = np.concatenate([np.full(2000, 0.1), _sine(500, SR), np.full(2000, -0.1)]).astype(np.float32)
    sf.write(tmp_path / "long.wav", long, SR, subtype="PCM_16")
    rows = [dict(path=p, label="yes", split="test") for p in ("rate.wav", "stereo.wav", "short.wav", "long.wav")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    x, _ = next(iter(make_dataset(tmp_path / "m.jsonl", "test", CLASSES, batch_size=4, shuffle=False)))
    x = x.numpy()
    assert x.shape == (4, SR)
    assert abs(_dominant(x[0]) - 500) < 2 and abs(np.sqrt(np.mean(x[0] ** 2)) - 0.25 / np.sqrt(2)) < 0.01
    np.testing.assert_allclose(x[1], (_sine(500, amp=0.2) + 0.1) / 2, atol=1e-4)
    np.testing.assert_allclose(x[2, :8000], _sine(500, 8000), atol=1e-4)
    assert np.all(x[2, 8000:] == 0)
    np.testing.assert_allclose(x[3], _sine(500, SR), atol=1e-4)  # centre crop


def test_augmentation_only_for_train(manifest, banks):
    aug = Augmenter(AugmentConfig(), *banks, SR)
    with pytest.raises(ConfigError, match="validation"):
        make_dataset(manifest, "validation", CLASSES, batch_size=2, augmenter=aug)
    with pytest.raises(ConfigError, match="frontend is None"):
        make_dataset(manifest, "train", CLASSES, batch_size=2, spec_augment=aug)


def test_keras_spec_augment_layer_is_accepted(manifest, frontend):
    layer = SpecAugment(7, 10, 2, 2, seed=0)
    x, _ = next(iter(make_dataset(manifest, "train", CLASSES, frontend=frontend, batch_size=4,
                                  spec_augment=layer, seed=0)))
    assert x.shape == (4, 49, 40) and np.all(np.isfinite(x.numpy()))


def test_representative_waveforms(manifest):
    a = representative_waveforms(manifest, "train", 5, seed=0)
    b = representative_waveforms(manifest, "train", 5, seed=0)
    assert a.shape == (5, SR) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, representative_waveforms(manifest, "train", 5, seed=1))
    assert len(representative_waveforms(manifest, "test", 1000, seed=0)) == 7


@pytest.mark.slow
def test_throughput_of_augmented_pipeline(tmp_path, frontend, banks):
    manifest = _write_corpus(tmp_path / "big", per_word=120)
    aug = Augmenter(AugmentConfig(), *banks, SR)
    ds = make_dataset(manifest, "train", CLASSES, frontend=frontend, batch_size=64, augmenter=aug,
                      spec_augment=aug, seed=0, num_epochs=None)
    it = iter(ds)
    for _ in range(2 * int(np.ceil(dataset_size(manifest, "train", CLASSES) / 64))):
        next(it)  # fill the decoded cache
    start, n = time.perf_counter(), 0
    for _ in range(40):
        n += len(next(it)[1])
    rate = n / (time.perf_counter() - start)
    print(f"augmented pipeline: {rate:.0f} clips/s")
    assert rate > 500
