"""Banded storage of the mel filterbank: every nonzero kept, same product as the dense matmul."""

import numpy as np
import pytest
import tensorflow as tf

from zoo.frontends import _dsp
from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram, mel_filterbank


@pytest.mark.parametrize("sr,n_fft,mels,fmin,fmax,share", [(16000, 512, 40, 20.0, 7600.0, 0.2),
                                                           (16000, 512, 80, 0.0, None, 0.2),
                                                           (22050, 1024, 80, 0.0, 8000.0, 0.2),
                                                           (8000, 256, 10, 0.0, None, 1.0)])
def test_blocks_rebuild_the_matrix_and_store_far_less(sr, n_fft, mels, fmin, fmax, share):
    dense = mel_filterbank("t", sr, n_fft, mels, fmin, fmax)
    blocks = _dsp.band_blocks(dense)
    rebuilt = np.zeros_like(dense)
    cols = []
    for r0, r1, c0, c1, block in blocks:
        rebuilt[r0:r1, c0:c1] = block
        cols.extend(range(c0, c1))
    assert cols == list(range(mels))  # consecutive, disjoint, complete
    np.testing.assert_array_equal(rebuilt, dense)
    stored = sum(b[-1].size for b in blocks)
    assert stored <= share * dense.size
    # the split never costs more than one dense block (what the optimisation minimises)
    overhead = _dsp.BLOCK_OVERHEAD_WEIGHTS
    assert stored + overhead * len(blocks) <= dense.size + overhead


def test_banded_product_equals_dense_product():
    dense = mel_filterbank("t", 16000, 512, 40, 20.0, 7600.0)
    x = tf.constant(np.random.default_rng(0).gamma(1.0, 2.0, size=(3, 49, 257)).astype(np.float32))
    ref = np.asarray(_dsp.matmul_last(x, dense))
    got = np.asarray(_dsp.banded_matmul_last(x, _dsp.band_blocks(dense)))
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-6)


def test_log_mel_layer_uses_the_same_filterbank_it_reports():
    layer = LogMelSpectrogram(16000, 480, 320, 512, 40, 20.0, 7600.0)
    x = np.random.default_rng(1).normal(0, 0.1, (2, 16000)).astype(np.float32)
    spec = np.asarray(layer.stft(x))
    np.testing.assert_allclose(np.asarray(layer.mel_energies(x)), spec @ layer.mel_matrix, rtol=1e-5, atol=1e-7)


def test_empty_columns_are_handled():
    m = np.zeros((20, 4), np.float32)
    m[2:5, 0] = 1.0
    m[8:12, 2] = 2.0  # columns 1 and 3 empty
    blocks = _dsp.band_blocks(m)
    rebuilt = np.zeros_like(m)
    for r0, r1, c0, c1, block in blocks:
        rebuilt[r0:r1, c0:c1] = block
    np.testing.assert_array_equal(rebuilt, m)
