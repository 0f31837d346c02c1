"""training.corpora.rooms: shapes, determinism, direct path at the peak, RT60 against pyroomacoustics' measure."""

import numpy as np
import pyroomacoustics as pra
import pytest

from training.corpora.rooms import PRE_DELAY_S, make_rir_bank
from zoo.errors import ConfigError


def test_shapes_peak_and_determinism():
    bank = make_rir_bank(6, sample_rate=16000, seed=3, max_length_s=0.25)
    assert len(bank) == 6
    for rir in bank:
        assert rir.dtype == np.float32 and rir.shape == (4000,)
        assert np.max(np.abs(rir)) == pytest.approx(1.0)
        # the direct path is the peak, PRE_DELAY_S after the start
        assert abs(int(np.argmax(np.abs(rir))) - round(PRE_DELAY_S * 16000)) <= 1
        assert np.all(np.isfinite(rir)) and abs(rir[-1]) < 1e-3  # faded out at the cut
    again = make_rir_bank(6, sample_rate=16000, seed=3, max_length_s=0.25)
    for a, b in zip(bank, again):
        np.testing.assert_array_equal(a, b)
    other = make_rir_bank(6, sample_rate=16000, seed=4, max_length_s=0.25)
    assert not any(np.array_equal(a, b) for a, b in zip(bank, other))
    assert make_rir_bank(0) == []


def test_sample_rate_sets_length():
    (rir,) = make_rir_bank(1, sample_rate=8000, seed=0, max_length_s=0.3)
    assert rir.shape == (2400,) and int(np.argmax(np.abs(rir))) == 8


def test_measured_rt60_tracks_the_request():
    """T20 (pra.experimental.measure_rt60, decay_db=20) of 6 RIRs per target.

    Measured (seed 11): median ratio measured/requested 0.60 at 0.1 s, 0.85 at 0.2 s, 0.99 at
    0.4 s, 1.07 at 0.8 s (seeds 0 and 1 within 0.1 of these): Sabine's formula overestimates the RT60 of highly absorbing rooms, so the
    shortest targets come out shorter. Asserted: medians within 30% of the target from 0.2 s to
    0.8 s, the 0.1 s target below 0.1 s * 1.3 and shorter than the 0.2 s one, and medians rising
    with the target.
    """
    medians = {}
    for target in (0.1, 0.2, 0.4, 0.8):
        bank = make_rir_bank(6, sample_rate=16000, seed=11, rt60_range=(target, target))
        measured = [pra.experimental.measure_rt60(rir, fs=16000, decay_db=20) for rir in bank]
        medians[target] = float(np.median(measured))
    for target in (0.2, 0.4, 0.8):
        assert medians[target] == pytest.approx(target, rel=0.30), medians
    assert medians[0.1] < 0.13 and medians[0.1] < medians[0.2] < medians[0.4] < medians[0.8], medians


def test_rt60_range_spreads_decays():
    bank = make_rir_bank(8, seed=5, rt60_range=(0.2, 0.8))
    measured = [pra.experimental.measure_rt60(rir, fs=16000, decay_db=20) for rir in bank]
    assert 0.12 < min(measured) and max(measured) < 1.1
    assert max(measured) - min(measured) > 0.2  # different rooms, not one room repeated


@pytest.mark.parametrize("kwargs,match", [
    ({"num_rirs": -1}, "num_rirs"),
    ({"num_rirs": 2, "rt60_range": (0.8, 0.1)}, r"\(0.8, 0.1\)"),
    ({"num_rirs": 2, "rt60_range": "short"}, "'short'"),
    ({"num_rirs": 2, "sample_rate": 1000}, "1000"),
    ({"num_rirs": 2, "max_length_s": 0.0}, "max_length_s"),
])
def test_bad_arguments(kwargs, match):
    num = kwargs.pop("num_rirs")
    with pytest.raises(ConfigError, match=match):
        make_rir_bank(num, **kwargs)
