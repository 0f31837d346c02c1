"""Dynamic mixing (training.separation_train.dynamic_mixture): new combinations of a corpus's parts,
each part an exact, level-bounded crop of a training file, and the mixture their exact sum."""

import numpy as np
import pytest
import soundfile as sf

from training.corpora.noisy_speech import SNR_RANGE_DB
from training.separation_train import (DYNAMIC_GAIN_DB, NOISE_SPEED, PEAK_MAX, dynamic_mixture,
                                       make_train_dataset)

RATE = 8000


def _write(path, wave):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), RATE, subtype="FLOAT")


def _two_speaker_corpus(root, n=6, samples=4000):
    """Row r's speaker k is the constant level (k ? -1 : 1) * (0.1 + 0.02 r): a crop names its row."""
    rows = []
    for r in range(n):
        sources = [np.full(samples, (1 if k == 0 else -1) * (0.1 + 0.02 * r)) for k in range(2)]
        for k, wave in enumerate(sources):
            _write(root / f"s{k + 1}" / f"{r}.wav", wave)
        _write(root / "mix" / f"{r}.wav", sum(sources))
        rows.append({"path": f"mix/{r}.wav", "sources": [f"s1/{r}.wav", f"s2/{r}.wav"], "split": "train"})
    return rows


def _noisy_corpus(root, n=5, samples=4000):
    rng = np.random.default_rng(1)
    t = np.arange(samples) / RATE
    rows = []
    for r in range(n):
        clean = 0.2 * np.sin(2 * np.pi * (200 + 50 * r) * t)
        noise = 0.05 * rng.standard_normal(samples)
        _write(root / "clean" / f"{r}.wav", clean)
        _write(root / "noise" / f"{r}.wav", noise)
        _write(root / "noisy" / f"{r}.wav", clean + noise)
        rows.append({"path": f"noisy/{r}.wav", "sources": [f"clean/{r}.wav"], "noise": f"noise/{r}.wav",
                     "split": "train"})
    return rows


def test_speakers_come_from_different_examples_at_bounded_levels(tmp_path):
    rows = _two_speaker_corpus(tmp_path)
    rng = np.random.default_rng(0)
    levels = np.array([0.1 + 0.02 * r for r in range(len(rows))])
    pairs = set()
    for _ in range(40):
        mixture, sources = dynamic_mixture(tmp_path, rows, 1000, rng)
        assert mixture.shape == (1000,) and sources.shape == (2, 1000)
        np.testing.assert_allclose(mixture, sources.sum(0), atol=1e-6)
        found = []
        for k, sign in enumerate((1, -1)):
            value = sign * sources[k]
            assert np.ptp(value) < 1e-6  # one crop of one file, one gain
            gain_db = 20 * np.log10(value[0] / levels)
            matches = np.flatnonzero(np.abs(gain_db) <= DYNAMIC_GAIN_DB + 1e-6)
            assert matches.size >= 1
            found.append(tuple(matches))
        pairs.add(tuple(found))
    # the corpus pairs row r with row r; on the fly most pairs are new
    assert len(pairs) > 10


def test_speech_and_noise_of_different_examples_at_the_corpus_snr(tmp_path):
    rows = _noisy_corpus(tmp_path)
    rng = np.random.default_rng(0)
    snrs = []
    for _ in range(30):
        mixture, sources = dynamic_mixture(tmp_path, rows, 2000, rng)
        assert sources.shape == (1, 2000)
        noise = mixture - sources[0]
        snr = 10 * np.log10(np.mean(sources[0] ** 2) / np.mean(noise ** 2))
        assert SNR_RANGE_DB[0] - 1e-3 <= snr <= SNR_RANGE_DB[1] + 1e-3
        assert np.abs(mixture).max() <= PEAK_MAX + 1e-6
        snrs.append(snr)
    assert np.ptp(snrs) > 10  # drawn, not fixed


def test_noise_is_played_at_another_speed(tmp_path):
    rows = _noisy_corpus(tmp_path)
    for r in range(len(rows)):  # every noise a 500 Hz tone: its speed shows as its frequency
        _write(tmp_path / "noise" / f"{r}.wav", 0.05 * np.sin(2 * np.pi * 500 * np.arange(4000) / RATE))
        _write(tmp_path / "clean" / f"{r}.wav", np.full(4000, 0.1))
    rng = np.random.default_rng(0)
    peaks = []
    for _ in range(20):
        mixture, sources = dynamic_mixture(tmp_path, rows, 2048, rng)
        spectrum = np.abs(np.fft.rfft((mixture - sources[0]) * np.hanning(2048)))
        peaks.append(np.argmax(spectrum) * RATE / 2048)
    bin_hz = RATE / 2048
    assert min(peaks) >= 500 * NOISE_SPEED[0] - bin_hz and max(peaks) <= 500 * NOISE_SPEED[1] + bin_hz
    assert max(peaks) - min(peaks) > 0.2 * 500  # drawn per example


def test_loud_parts_are_scaled_together(tmp_path):
    rows = _noisy_corpus(tmp_path)
    for r in range(len(rows)):  # speech at 0.9 peak: a -5 dB SNR noise pushes the sum past full scale
        _write(tmp_path / "clean" / f"{r}.wav", np.full(4000, 0.9))
    rng = np.random.default_rng(3)
    for _ in range(20):
        mixture, sources = dynamic_mixture(tmp_path, rows, 1000, rng)
        assert max(np.abs(mixture).max(), np.abs(sources).max()) <= PEAK_MAX + 1e-6
        snr = 10 * np.log10(np.mean(sources[0] ** 2) / np.mean((mixture - sources[0]) ** 2))
        assert SNR_RANGE_DB[0] - 1e-3 <= snr <= SNR_RANGE_DB[1] + 1e-3  # one common scale keeps the SNR


def test_the_training_pipeline_mixes_on_the_fly_only_when_asked(tmp_path):
    rows = _two_speaker_corpus(tmp_path)

    def first_batch(share):
        inputs, targets = next(iter(make_train_dataset(tmp_path, rows, 1000, batch_size=16, seed=0,
                                                       dynamic_mix=share)))
        assert inputs["mixture"].shape == (16, 1000) and targets["sources"].shape == (16, 2, 1000)
        return targets["sources"].numpy()[:, 0, 0], -targets["sources"].numpy()[:, 1, 0]

    s1, s2 = first_batch(0.0)
    np.testing.assert_allclose(s1, s2, atol=1e-6)  # the corpus's own pairs: both speakers of one row
    s1, s2 = first_batch(1.0)
    assert np.abs(20 * np.log10(s1 / s2)).max() > 2 * DYNAMIC_GAIN_DB  # pairs no single row holds


def test_a_denoising_corpus_without_noise_files_is_refused(tmp_path):
    import json

    from training.separation_train import train_separator
    from zoo.errors import ConfigError

    root = tmp_path / "noisy-speech"
    rows = [{k: v for k, v in r.items() if k != "noise"} for r in _noisy_corpus(root)]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ConfigError, match="noise"):
        train_separator("enh_dtln_16k", {"data_root": str(tmp_path), "output_dir": str(tmp_path / "runs"),
                                         "dynamic_mix": "0.5"}, verbose=0)


@pytest.mark.parametrize("value", ["-0.1", "1.5"])
def test_dynamic_mix_outside_zero_one_is_refused(value):
    from training.separation_train import SeparationExperiment
    from zoo.errors import ConfigError
    from zoo.presets import get_preset

    with pytest.raises(ConfigError, match="dynamic_mix"):
        SeparationExperiment.from_preset(get_preset("sep_convtasnet_small_2spk"), {"dynamic_mix": value})


def test_a_silent_noise_crop_mixes_as_recorded(tmp_path):
    rows = _noisy_corpus(tmp_path)
    for r in range(len(rows)):  # no level to set against silence: the example is the clean speech
        _write(tmp_path / "noise" / f"{r}.wav", np.zeros(4000))
    mixture, sources = dynamic_mixture(tmp_path, rows, 1000, np.random.default_rng(0))
    np.testing.assert_array_equal(mixture, sources[0])
    assert np.abs(sources).max() > 0
