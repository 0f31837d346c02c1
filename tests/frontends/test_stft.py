"""STFT and InverseSTFT against librosa (float64 reference) and closed forms."""

import librosa
import numpy as np
import pytest
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.frontends import STFT, InverseSTFT

# float32 DFT of a 1 s signal with |X| up to ~40: errors ~1e-5, so 1e-4 absolute.
ATOL = 1e-4


@pytest.mark.parametrize("frame_length,fft_length,dft_method", [
    (400, 512, "auto"),     # rfft, frame shorter than the FFT
    (400, 512, "matmul"),
    (400, 400, "auto"),     # not a power of two -> matmul
    (401, 401, "matmul"),   # odd size
])
def test_magnitude_matches_librosa(signal, librosa_pad, frame_length, fft_length, dft_method):
    ours = STFT(frame_length, 160, fft_length, dft_method=dft_method)(signal[None]).numpy()[0]
    ref = np.abs(librosa.stft(librosa_pad(signal, frame_length, fft_length), n_fft=fft_length,
                              hop_length=160, win_length=frame_length, window="hann",
                              center=False)).T
    assert ours.shape == (1 + (len(signal) - frame_length) // 160, fft_length // 2 + 1)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=ATOL)


@pytest.mark.parametrize("dft_method", ["rfft", "matmul"])
def test_complex_and_power_match_librosa(signal, dft_method):
    ours = STFT(512, 128, 512, output="complex", dft_method=dft_method)(signal[None]).numpy()[0]
    ref = librosa.stft(signal.astype(np.float64), n_fft=512, hop_length=128, window="hann",
                       center=False).T
    assert ours.shape == ref.shape + (2,)
    np.testing.assert_allclose(ours[..., 0], ref.real, atol=ATOL)
    np.testing.assert_allclose(ours[..., 1], ref.imag, atol=ATOL)
    power = STFT(512, 128, 512, output="power", dft_method=dft_method)(signal[None]).numpy()[0]
    np.testing.assert_allclose(power, np.abs(ref) ** 2, rtol=1e-5, atol=1e-3)


def test_sine_lands_in_its_bin():
    # 1000 Hz at 16 kHz with a 512-point FFT is bin 32 exactly; a periodic Hann gives |X| = A N / 4.
    t = np.arange(4096) / 16000
    y = (0.5 * np.cos(2 * np.pi * 1000.0 * t)).astype(np.float32)
    mag = STFT(512, 256, 512, window="hann")(y[None]).numpy()[0]
    assert np.all(mag.argmax(axis=-1) == 32)
    np.testing.assert_allclose(mag[:, 32], 0.5 * 512 / 4, rtol=1e-5)


def test_dynamic_length_and_batch(signal):
    layer = STFT(400, 160, 512)
    fn = tf.function(layer, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    batch = np.stack([signal[:5000], signal[1000:6000]])
    dyn = fn(batch).numpy()
    assert dyn.shape == (2, 1 + (5000 - 400) // 160, 257)
    np.testing.assert_allclose(dyn, layer(batch).numpy(), atol=1e-6)
    # Shorter than one frame: zero frames, not an error (also when the hop exceeds the frame).
    assert fn(np.zeros((1, 300), np.float32)).shape == (1, 0, 257)
    wide = tf.function(STFT(256, 300, 256), input_signature=[tf.TensorSpec([None, None], tf.float32)])
    assert wide(np.zeros((2, 200), np.float32)).shape == (2, 0, 129)
    assert wide(np.zeros((2, 900), np.float32)).shape == (2, 3, 129)


def test_gradient_is_finite_on_silence():
    x = tf.zeros((1, 2000))
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(STFT(400, 160, 512)(x))
    assert np.all(np.isfinite(tape.gradient(total, x).numpy()))


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="fft_length is shorter than frame_length"):
        STFT(512, 128, 256)
    with pytest.raises(ConfigError, match="unknown output"):
        STFT(512, 128, 512, output="db")
    with pytest.raises(ConfigError, match="power-of-two"):
        STFT(400, 160, 400, dft_method="rfft")
    with pytest.raises(ConfigError, match="unknown window"):
        STFT(400, 160, 512, window="no-such-window")
    with pytest.raises(ConfigError, match="frame_step must be an integer"):
        STFT(400, 0, 512)
    with pytest.raises(AudioError, match="wrong rank"):
        STFT(400, 160, 512)(np.zeros((1, 2, 1000), np.float32))


@pytest.mark.parametrize("frame_length,frame_step,fft_length", [(512, 128, 512), (400, 160, 512),
                                                                 (400, 100, 400)])
def test_inverse_stft_reconstructs_the_interior(signal, frame_length, frame_step, fft_length):
    spec = STFT(frame_length, frame_step, fft_length, output="complex")(signal[None])
    rebuilt = InverseSTFT(frame_length, frame_step, fft_length)(spec).numpy()[0]
    frames = spec.shape[1]
    assert rebuilt.shape == ((frames - 1) * frame_step + frame_length,)
    interior = slice(frame_length, len(rebuilt) - frame_length)
    np.testing.assert_allclose(rebuilt[interior], signal[interior], atol=1e-5)


def test_inverse_stft_matches_librosa_istft(signal):
    ref_spec = librosa.stft(signal.astype(np.float64), n_fft=512, hop_length=128, window="hann",
                            center=False)
    ref = librosa.istft(ref_spec, hop_length=128, window="hann", center=False)
    spec = np.stack([ref_spec.real.T, ref_spec.imag.T], axis=-1)[None].astype(np.float32)
    ours = InverseSTFT(512, 128, 512)(spec).numpy()[0]
    assert ours.shape == ref.shape
    # Interior: same weighted overlap-add. At the edges both divide by a vanishing window sum.
    np.testing.assert_allclose(ours[512:-512], ref[512:-512], atol=1e-5)


def test_inverse_stft_rejects_wrong_bins():
    with pytest.raises(AudioError, match="wrong size"):
        InverseSTFT(400, 160, 512).compute_output_shape((1, 10, 201, 2))


@pytest.mark.parametrize("frames_per_chunk", [1, 7, 16, 1000])
@pytest.mark.parametrize("output", ["power", "complex"])
def test_piecewise_stft_equals_whole(signal, frames_per_chunk, output):
    """frames_per_chunk (set by export.tflite.frame_chunking) changes the graph, not the frames."""
    layer = STFT(480, 320, 512, output=output, dft_method="matmul")
    whole = layer(signal[None]).numpy()
    layer.frames_per_chunk = frames_per_chunk
    pieces = layer(signal[None]).numpy()
    assert pieces.shape == whole.shape
    np.testing.assert_allclose(pieces, whole, atol=1e-5, rtol=1e-5)


def test_piecewise_log_mel_shares_its_constants():
    """Each piece reuses the graph's one window / mel-block constant (no copy per piece)."""
    from zoo.frontends import LogMelSpectrogram

    layer = LogMelSpectrogram(16000, 480, 320, 512, 40, 20.0, 7600.0)
    x = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    whole = layer(x).numpy()

    def consts(frames_per_chunk):
        layer.stft.frames_per_chunk = frames_per_chunk
        graph = tf.function(layer).get_concrete_function(tf.TensorSpec([2, 16000], tf.float32)).graph
        sizes = [int(np.prod([d.size for d in op.get_attr("value").tensor_shape.dim]))
                 for op in graph.get_operations() if op.type == "Const"]
        return sorted(n for n in sizes if n >= 100)  # the window and mel blocks, not slice indices

    assert consts(None) == consts(16)
    layer.stft.frames_per_chunk = 16
    np.testing.assert_allclose(layer(x).numpy(), whole, atol=1e-4)
