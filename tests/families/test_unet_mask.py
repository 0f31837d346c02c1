"""UNetMaskBackbone: shapes, exact mixture reconstruction of softmax masks, config round trip,
save/load, padding layers, errors, preset, and a tiny overfit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.families.separation.unet_mask.crop_to_reference import CropToReference
from zoo.families.separation.unet_mask.masked_inverse_stft import MaskedInverseSTFT
from zoo.families.separation.unet_mask.pad_to_multiple import PadToMultiple
from zoo.families.separation.unet_mask.unet_mask_backbone import UNetMaskBackbone
from zoo.frontends.stft import STFT
from zoo.tasks.separation import SourceSeparator, padded_length

SMALL = {"num_sources": 3, "frame_length": 256, "frame_step": 64, "base_filters": 4, "depth": 3, "kernel_size": 3}


def _mixture(batch, length, seed=0):
    return np.random.default_rng(seed).normal(0, 0.1, (batch, length)).astype(np.float32)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_backbone_shapes(activation):
    model = UNetMaskBackbone(**SMALL, mask_activation=activation)
    for length in (256, 256 + 64 * 37):  # one frame; 38 frames (not a multiple of 2 ** depth)
        out = model(_mixture(2, length))
        assert tuple(out.shape) == (2, 3, length)
    assert (model.frame_length, model.frame_step, model.num_sources) == (256, 64, 3)


def test_softmax_masks_reconstruct_the_mixture_through_the_task():
    task = SourceSeparator(UNetMaskBackbone(**SMALL), sample_rate=16000)
    x = _mixture(2, 3000, seed=1)
    out = task({"mixture": x, "mixture_length": np.array([3000, 2000], np.int32)})["sources"].numpy()
    assert out.shape == (2, 3, 3000)
    # the masks sum to one, the inverse STFT is linear: the estimates sum to the (length-masked) mixture
    np.testing.assert_allclose(out[0].sum(axis=0), x[0], atol=2e-5)
    np.testing.assert_allclose(out[1, :, :2000].sum(axis=0), x[1, :2000], atol=2e-5)
    assert np.all(out[1, :, 2000:] == 0)
    assert padded_length(3000, 256, 64) % 64 == 0


def test_masked_inverse_stft_matches_scaled_mixture():
    stft = STFT(256, 64, 256, output="complex")
    layer = MaskedInverseSTFT(256, 64, 256)
    x = _mixture(2, 256 + 64 * 20, seed=2)
    spectrum = stft(x)
    masks = tf.stack([tf.fill(tf.shape(spectrum)[:3], v) for v in (0.25, 1.0)], axis=1)  # [B, 2, F, K]
    out = layer(spectrum, masks).numpy()
    interior = slice(256, x.shape[1] - 256)
    np.testing.assert_allclose(out[:, 0, interior], 0.25 * x[:, interior], atol=1e-5)
    np.testing.assert_allclose(out[:, 1, interior], x[:, interior], atol=1e-5)


def test_pad_and_crop_layers():
    x = tf.ones([2, 37, 129, 3])
    padded = PadToMultiple(8)(x)
    assert tuple(padded.shape) == (2, 40, 136, 3)
    assert float(tf.reduce_sum(padded)) == float(tf.reduce_sum(x))  # zeros appended
    cropped = CropToReference()(padded, tf.zeros([2, 37, 129]))
    np.testing.assert_array_equal(cropped.numpy(), x.numpy())
    spec = PadToMultiple(8).compute_output_spec(keras.KerasTensor((None, None, 513, 1)))
    assert spec.shape == (None, None, 520, 1)


def test_get_config_round_trip_and_save_load(tmp_path):
    model = UNetMaskBackbone(**SMALL, dropout=0.25, mask_activation="sigmoid")
    config = model.get_config()
    assert {k: config[k] for k in SMALL} == SMALL
    assert config["dropout"] == 0.25 and config["mask_activation"] == "sigmoid" and config["log_floor"] == 1e-6
    clone = UNetMaskBackbone.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = _mixture(1, 256 + 64 * 10, seed=3)
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), atol=1e-6)
    path = tmp_path / "unet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, UNetMaskBackbone) and loaded.get_config() == config
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"frame_length": 1000, "frame_step": 250}, "power of two"),
    ({"frame_length": 256, "frame_step": 96}, "multiple of frame_step"),
    ({"depth": 0}, "depth must be a positive int"),
    ({"mask_activation": "relu"}, "mask_activation"),
    ({"dropout": 1.5}, "dropout"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        UNetMaskBackbone(**{**SMALL, **kwargs})


def test_preset_builds_a_four_stem_separator():
    from zoo.presets import build_task, get_preset

    preset = get_preset("sep_unet_stems")
    assert preset.data["corpus"] == "music-stems" and preset.training["loss"] == "si_sdr"
    task = build_task(preset)
    assert task.num_sources == 4 and task.sample_rate == 16000 and task.algorithmic_latency_ms == 64.0
    out = task.predict_waveform(_mixture(1, 4000)[0])["sources"]
    assert out.shape == (4, 4000)


def test_tiny_overfit_loss_drops():
    from training.separation_train import make_loss

    keras.utils.set_random_seed(0)
    t = np.arange(256 + 64 * 31) / 8000.0
    low = 0.3 * np.sin(2 * np.pi * 200 * t)
    high = 0.2 * np.sign(np.sin(2 * np.pi * 1900 * t)) * (np.sin(2 * np.pi * 3 * t) > 0)
    sources = np.stack([np.stack([low, high]), np.stack([np.roll(low, 500), 0.5 * high])]).astype(np.float32)
    mixture = sources.sum(axis=1)
    model = UNetMaskBackbone(num_sources=2, frame_length=256, frame_step=64, base_filters=4, depth=2, kernel_size=3)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=make_loss("si_sdr"))
    # training-mode losses: batch norm's moving averages lag far behind after 40 steps
    losses = [float(model.train_on_batch(mixture, sources)) for _ in range(40)]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < losses[0] - 3.0, losses  # at least 3 dB better SI-SDR
