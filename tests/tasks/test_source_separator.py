"""SourceSeparator with tiny Conv-TasNet and DTLN backbones: signature, lengths, configs, save/load,
causality, PIT training, SavedModel parity and streaming parity."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.families.separation.conv_tasnet.conv_tasnet_backbone import ConvTasNetBackbone
from zoo.families.separation.blstm_mask.blstm_mask_backbone import BLSTMMaskBackbone
from zoo.families.separation.dtln.dtln_backbone import DTLNBackbone
from zoo.tasks.separation import SourceSeparator, padded_length


def tiny_tasnet(causal=False, seed=0):
    keras.utils.set_random_seed(seed)
    backbone = ConvTasNetBackbone(num_sources=2, encoder_filters=16, kernel_size=8, bottleneck_channels=8,
                                  hidden_channels=16, skip_channels=8, num_blocks=3, num_repeats=1, causal=causal)
    return SourceSeparator(backbone, sample_rate=8000, name="tiny_tasnet")


def tiny_dtln(seed=0):
    keras.utils.set_random_seed(seed)
    return SourceSeparator(DTLNBackbone(frame_length=32, frame_step=8, lstm_units=8, num_layers=2, encoder_size=16),
                           sample_rate=16000, name="tiny_dtln")


def tiny_blstm(seed=0):
    keras.utils.set_random_seed(seed)
    return SourceSeparator(BLSTMMaskBackbone(num_sources=2, frame_length=32, frame_step=8, lstm_units=8, num_layers=1),
                           sample_rate=8000, name="tiny_blstm")


def run(task, x, lengths=None):
    lengths = np.array([x.shape[1]] * x.shape[0] if lengths is None else lengths, np.int32)
    return np.asarray(task({"mixture": x, "mixture_length": lengths})["sources"])


def test_signature_names_and_shapes():
    task = tiny_tasnet()
    sig = task.signature()
    assert sig.endpoint == "separate"
    assert sig.input_names() == ["mixture", "mixture_length"]
    assert sig.output_names() == ["sources"]
    assert sig.outputs[0].shape == (None, 2, None)
    assert task.signature_schema()["sample_rate"] == 8000


@pytest.mark.parametrize("t", [1, 7, 8, 333])
def test_output_length_and_zeros_past_length(t):
    task = tiny_tasnet()
    x = np.random.default_rng(0).normal(size=(2, t)).astype(np.float32)
    lengths = [t, max(1, t // 2)]
    out = run(task, x, lengths)
    assert out.shape == (2, 2, t)
    assert np.all(out[1, :, lengths[1]:] == 0.0)
    # Samples past the length do not leak into the valid part either.
    y = x.copy()
    y[1, lengths[1]:] = 5.0
    np.testing.assert_allclose(run(task, y, lengths), out, atol=1e-5)


def test_padded_length_closed_form():
    for t in range(1, 50):
        p = padded_length(t, 32, 8)
        assert (p - 32) % 8 == 0 and p >= 24 + t + 24


def test_causal_tasnet_ignores_the_future():
    task = tiny_tasnet(causal=True)
    x = np.random.default_rng(1).normal(size=(1, 400)).astype(np.float32)
    y = x.copy()
    y[:, 300:] = np.random.default_rng(2).normal(size=(1, 100))
    a, b = run(task, x), run(task, y)
    # Output before sample 300 - frame_length can only see inputs before 300.
    np.testing.assert_allclose(a[..., :300 - 8], b[..., :300 - 8], atol=1e-5)
    assert np.abs(a[..., 310:] - b[..., 310:]).max() > 1e-4
    noncausal = tiny_tasnet(causal=False)
    assert np.abs(run(noncausal, x)[..., :200] - run(noncausal, y)[..., :200]).max() > 1e-6


def test_blstm_all_one_masks_reconstruct_the_mixture():
    task = tiny_blstm()
    dense = task.backbone.get_layer("masks")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 0.0, bias * 0.0 + 40.0])  # sigmoid -> 1
    x = np.random.default_rng(8).normal(size=(1, 157)).astype(np.float32)
    out = run(task, x)
    np.testing.assert_allclose(out[0, 0], x[0], atol=1e-5)
    np.testing.assert_allclose(out[0, 1], x[0], atol=1e-5)


@pytest.mark.parametrize("make", [tiny_tasnet, lambda: tiny_tasnet(causal=True), tiny_dtln, tiny_blstm])
def test_config_round_trip_and_save_load(make, tmp_path):
    task = make()
    x = np.random.default_rng(3).normal(size=(1, 200)).astype(np.float32) * 0.1
    clone = SourceSeparator.from_config(task.get_config())
    assert clone.get_config() == task.get_config()
    clone.set_weights(task.get_weights())
    np.testing.assert_allclose(run(clone, x), run(task, x), atol=1e-6)
    path = tmp_path / "model.keras"
    task.save(str(path))
    loaded = keras.saving.load_model(str(path), safe_mode=True)
    np.testing.assert_allclose(run(loaded, x), run(task, x), atol=1e-6)


def test_invalid_config_raises():
    with pytest.raises(ConfigError, match="kernel_size must be even"):
        ConvTasNetBackbone(kernel_size=7)
    with pytest.raises(ConfigError, match="multiple of frame_step"):
        DTLNBackbone(frame_length=30, frame_step=8)
    with pytest.raises(ConfigError, match="no separate frontend"):
        SourceSeparator(ConvTasNetBackbone(num_blocks=1, num_repeats=1), sample_rate=8000, frontend={"a": 1})


def test_pit_training_reduces_loss_on_a_few_mixtures():
    from training.separation_train import make_loss

    task = tiny_tasnet(seed=4)
    rng = np.random.default_rng(5)
    t = np.arange(400) / 8000.0
    # Two sources of different character: a chirp-like tone and filtered noise bursts.
    s1 = np.stack([np.sin(2 * np.pi * f * t) for f in rng.uniform(200, 600, 8)])
    s2 = np.stack([np.convolve(rng.normal(size=400), np.ones(4) / 4, "same") * (np.sin(2 * np.pi * 6 * t) > 0)
                   for _ in range(8)])
    sources = np.stack([s1, s2], 1).astype(np.float32) * 0.1
    data = ({"mixture": sources.sum(1), "mixture_length": np.full(8, 400, np.int32)}, {"sources": sources})
    task.compile(optimizer=keras.optimizers.Adam(3e-3), loss={"sources": make_loss("pit_si_sdr")})
    before = task.evaluate(*data, verbose=0)
    task.fit(*data, batch_size=8, epochs=25, verbose=0)
    after = task.evaluate(*data, verbose=0)
    assert after < before - 3.0  # at least 3 dB better SI-SDR


def test_saved_model_separate_matches_keras(tmp_path):
    from export.saved_model import export_saved_model

    task = tiny_tasnet()
    path = export_saved_model(task, tmp_path, model_name="tiny", version=1)
    loaded = tf.saved_model.load(str(path))
    assert {"separate", "serving_default", "separate_wav"} <= set(loaded.signatures)
    fn = loaded.signatures["separate"]
    assert set(fn.structured_outputs) == {"sources"}
    x = np.random.default_rng(6).normal(size=(2, 300)).astype(np.float32) * 0.1
    lengths = np.array([300, 250], np.int32)
    served = fn(mixture=tf.constant(x), mixture_length=tf.constant(lengths))["sources"].numpy()
    np.testing.assert_allclose(served, run(task, x, lengths), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="exceeds"):
        fn(mixture=tf.constant(x), mixture_length=tf.constant([301, 10], tf.int32))


def test_streaming_dtln_equals_whole_utterance():
    from export.denoiser_streaming import DTLNStreamer

    task = tiny_dtln()
    x = np.random.default_rng(7).normal(size=203).astype(np.float32) * 0.1
    streamer = DTLNStreamer(task)
    streamed = streamer.run(x)
    d = streamer.delay_samples
    np.testing.assert_allclose(streamed[d:d + x.size], run(task, x[None])[0, 0], atol=1e-5)
    assert streamer.algorithmic_latency_ms == pytest.approx(2.0)
