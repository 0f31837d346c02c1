"""WaveNet: mu-law vs librosa, receptive field, causality, conditioning, incremental (queue) generation
== full recomputation, config / safe-mode save round trip, and a tiny overfit."""

import keras
import librosa
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.families.synthesis.wavenet.mu_law import mu_law_decode, mu_law_encode
from zoo.families.synthesis.wavenet.wavenet_backbone import WaveNetBackbone
from zoo.families.synthesis.wavenet.wavenet_generator import WaveNetGenerator

HOP = 20
SMALL = dict(num_stacks=2, layers_per_stack=4, residual_channels=8, skip_channels=16, num_mel_bins=6, hop_length=HOP,
             num_speakers=3, speaker_channels=4)


def small(seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    return WaveNetBackbone(**{**SMALL, **overrides})


def inputs(model, frames=6, batch=2, seed=1, speaker=(0, 2)):
    rng = np.random.default_rng(seed)
    return {"waveform_classes": rng.integers(0, 256, (batch, frames * model.hop_length)).astype(np.int32),
            "mel": rng.normal(size=(batch, frames, model.num_mel_bins)).astype(np.float32),
            "speaker_id": np.asarray(speaker[:batch], np.int32)}


def logits(model, x):
    return model(x)["logits"].numpy()


# --- mu-law ---

def test_mu_law_matches_librosa():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1, 1, 20000), 0.01 * rng.standard_normal(5000), [-1.0, 0.0, 1.0]])
    classes = mu_law_encode(x)
    assert classes.dtype == np.int32 and classes.min() == 0 and classes.max() == 255
    np.testing.assert_array_equal(classes, librosa.mu_compress(x, mu=255, quantize=True) + 128)
    np.testing.assert_allclose(mu_law_decode(classes), librosa.mu_expand(classes - 128, mu=255, quantize=True),
                               atol=1e-6)
    # the TF path (used inside the generator graph) agrees with the numpy path
    np.testing.assert_array_equal(mu_law_encode(tf.constant(x, tf.float32)).numpy(), mu_law_encode(x.astype(np.float32)))
    np.testing.assert_allclose(mu_law_decode(tf.constant(classes)).numpy(), mu_law_decode(classes), atol=1e-6)
    # companding keeps quiet samples fine: relative error of a decoded quiet signal stays small
    quiet = 0.01 * np.sin(np.linspace(0, 20, 1000))
    assert np.abs(mu_law_decode(mu_law_encode(quiet)) - quiet).max() < 1e-3
    assert mu_law_encode(np.zeros(1))[0] == 128


def test_mu_law_rejects_bad_input():
    with pytest.raises(AudioError, match=r"\[-1, 1\]"):
        mu_law_encode(np.array([0.5, 1.5]))
    with pytest.raises(AudioError, match="integer class ids"):
        mu_law_decode(np.array([0.5]))
    with pytest.raises(ConfigError, match="quantization_channels"):
        mu_law_encode(np.zeros(3), quantization_channels=1)


# --- backbone ---

def test_names_shapes_and_params():
    m = small()
    assert sorted(m.input.keys()) == ["mel", "speaker_id", "waveform_classes"]
    assert list(m.output.keys()) == ["logits"]
    assert logits(m, inputs(m, frames=3)).shape == (2, 3 * HOP, 256)
    # embedding 256*8 + speakers 3*4 + 8 layers (dilated 2*8*16+16, mel 6*16, speaker 4*16, skip 8*16+16)
    # + 7 residual convs (8*8+8) + post 16*16+16 + logits 16*256+256
    per_layer = (2 * 8 * 16 + 16) + 6 * 16 + 4 * 16 + (8 * 16 + 16)
    assert m.count_params() == 256 * 8 + 3 * 4 + 8 * per_layer + 7 * 72 + 272 + 16 * 256 + 256


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_receptive_field_formula_is_exact(kernel_size):
    m = small(kernel_size=kernel_size, num_stacks=2, layers_per_stack=3)
    r = m.receptive_field
    assert r == 1 + 2 * (kernel_size - 1) * (2 ** 3 - 1)
    x = inputs(m, frames=4)
    t = 3 * HOP + 5
    base = logits(m, x)[:, t]
    for offset, changes in ((r - 1, True), (r, False)):
        y = {k: v.copy() for k, v in x.items()}
        y["waveform_classes"][:, t - offset] = (y["waveform_classes"][:, t - offset] + 100) % 256
        # the path through the outermost taps is a product of many small weights: any change counts
        assert (np.abs(logits(m, y)[:, t] - base).max() > 0.0) == changes, (offset, r)


def test_causal_in_samples_and_mel_frames():
    m = small()
    x = inputs(m, frames=5)
    base = logits(m, x)
    t = 2 * HOP + 7
    y = {k: v.copy() for k, v in x.items()}
    y["waveform_classes"][:, t] = (y["waveform_classes"][:, t] + 50) % 256
    out = logits(m, y)
    np.testing.assert_array_equal(out[:, :t], base[:, :t])  # input t (sample t - 1) first feeds logit t
    assert np.abs(out[:, t] - base[:, t]).max() > 1e-6
    z = {k: v.copy() for k, v in x.items()}
    z["mel"][:, 3] += 1.0  # frame 3 conditions samples 3 * HOP .. 4 * HOP - 1 only
    out = logits(m, z)
    np.testing.assert_array_equal(out[:, :3 * HOP], base[:, :3 * HOP])
    assert np.abs(out[:, 3 * HOP] - base[:, 3 * HOP]).max() > 1e-6


def test_global_speaker_conditioning_changes_every_sample():
    m = small()
    x = inputs(m, frames=3, batch=2, speaker=(0, 0))
    x["waveform_classes"][1] = x["waveform_classes"][0]
    x["mel"][1] = x["mel"][0]
    same = logits(m, x)
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)
    x["speaker_id"] = np.array([0, 2], np.int32)
    diff = np.abs(logits(m, x)[0] - logits(m, x)[1]).max(axis=-1)
    assert diff.min() > 1e-5  # the speaker enters every layer's gate at every time step


def test_config_round_trip_and_safe_mode_save_load(tmp_path):
    m = small()
    config = m.get_config()
    assert {k: config[k] for k in SMALL} == SMALL and config["kernel_size"] == 2
    clone = WaveNetBackbone.from_config(config)
    assert clone.get_config() == config
    path = tmp_path / "wavenet.keras"
    m.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, WaveNetBackbone) and loaded.get_config() == config
    x = inputs(m, frames=2)
    np.testing.assert_array_equal(logits(loaded, x), logits(m, x))


def test_bad_config_raises():
    with pytest.raises(ConfigError, match="kernel_size"):
        WaveNetBackbone(kernel_size=1)
    with pytest.raises(ConfigError, match="residual_channels"):
        WaveNetBackbone(residual_channels=0)


def test_teacher_forcing_inputs_shift_right():
    m = small()
    np.testing.assert_array_equal(m.teacher_forcing_inputs([[5, 6, 7]]), [[128, 5, 6]])
    np.testing.assert_array_equal(m.teacher_forcing_inputs([[5, 6, 7]], previous=[9]), [[9, 5, 6]])


# --- incremental generation ---

@pytest.fixture(scope="module")
def generated():
    m = small(seed=3)
    rng = np.random.default_rng(5)
    mel = rng.normal(size=(2, 16, m.num_mel_bins)).astype(np.float32)  # 320 samples of conditioning
    gen = WaveNetGenerator(m)
    fast = gen.generate(mel, [1, 2], num_samples=300, seed=7, return_logits=True)
    return m, gen, mel, fast


def test_incremental_logits_equal_the_full_pass(generated):
    m, gen, mel, fast = generated
    assert fast["classes"].shape == (2, 300) and fast["logits"].shape == (2, 300, 256)
    classes = np.concatenate([fast["classes"], np.zeros((2, 20), np.int32)], axis=1)
    full = logits(m, {"waveform_classes": m.teacher_forcing_inputs(classes), "mel": mel,
                      "speaker_id": np.array([1, 2], np.int32)})[:, :300]
    assert np.abs(full - fast["logits"]).max() <= 1e-4
    assert len(np.unique(fast["classes"])) > 50  # a random model samples broadly (not stuck on one class)
    np.testing.assert_allclose(fast["waveform"], mu_law_decode(fast["classes"]), atol=1e-7)


def test_sampling_with_a_seed_matches_naive_recomputation(generated):
    m, gen, mel, fast = generated
    assert gen.window_frames * m.hop_length >= m.receptive_field
    naive = gen.generate_naive(mel, [1, 2], num_samples=300, seed=7, return_logits=True)
    np.testing.assert_array_equal(naive["classes"], fast["classes"])
    assert np.abs(naive["logits"] - fast["logits"]).max() <= 1e-4
    again = gen.generate(mel, [1, 2], num_samples=300, seed=7)
    np.testing.assert_array_equal(again["classes"], fast["classes"])
    other = gen.generate(mel, [1, 2], num_samples=300, seed=8)
    assert (other["classes"] != fast["classes"]).mean() > 0.5


def test_greedy_and_step_api(generated):
    m, gen, mel, _ = generated
    greedy = gen.generate(mel[:1], [0], num_samples=60, greedy=True, return_logits=True)
    np.testing.assert_array_equal(greedy["classes"], greedy["logits"].argmax(-1))
    naive = gen.generate_naive(mel[:1], [0], num_samples=60, greedy=True)
    np.testing.assert_array_equal(naive["classes"], greedy["classes"])
    # the explicit-state step reproduces the loop
    cond = gen.conditioning(mel[:1], [0])
    state, prev = gen.initial_state(1), tf.constant([m.start_class])
    assert [int(q.shape[1]) for q in state] == [1, 2, 4, 8, 1, 2, 4, 8]
    for t in range(30):
        out, state = gen.step(prev, cond[:, t // HOP], state)
        np.testing.assert_allclose(out.numpy(), greedy["logits"][:, t], atol=1e-5)
        prev = tf.constant(greedy["classes"][:, t])
    # a low temperature concentrates sampling on the argmax
    cold = gen.generate(mel[:1], [0], num_samples=60, temperature=1e-3, seed=1)
    np.testing.assert_array_equal(cold["classes"], greedy["classes"])


def test_generator_rejects_bad_requests(generated):
    m, gen, mel, _ = generated
    with pytest.raises(ConfigError, match="num_samples"):
        gen.generate(mel, [0, 1], num_samples=mel.shape[1] * HOP + 1)
    with pytest.raises(AudioError, match="log-mel"):
        gen.generate(mel[0], [0])
    with pytest.raises(ConfigError, match="speaker_id"):
        gen.generate(mel, [0, 3], num_samples=10)
    with pytest.raises(ConfigError, match="temperature"):
        gen.generate(mel, [0, 1], num_samples=10, temperature=0.0)


# --- training ---

def test_tiny_overfit_on_one_clip():
    from training.wavenet_train import crop

    m = small(seed=0, num_speakers=1)
    t = np.arange(10 * HOP)
    classes = mu_law_encode(0.5 * np.sin(2 * np.pi * t / 16.0))
    mel = np.random.default_rng(0).normal(size=(10, m.num_mel_bins)).astype(np.float32)
    x, y, c = crop((classes, mel), 2, 6, m.start_class, hop=HOP)
    assert x[0] == classes[2 * HOP - 1] and np.array_equal(x[1:], y[:-1]) and np.array_equal(c, mel[2:8])
    batch = {"waveform_classes": x[None], "mel": c[None], "speaker_id": np.zeros(1, np.int32)}
    opt = keras.optimizers.Adam(1e-2)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = ce(y[None], m(batch, training=True)["logits"])
        opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
        return loss

    losses = [float(step()) for _ in range(80)]
    assert losses[0] > 5.0  # ~ln(256) at init
    assert losses[-1] < 1.0, losses[::10]
