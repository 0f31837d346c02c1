"""GriffinLimVocoder: convergence, parity with librosa.griffinlim, the mel pseudo-inverse, config, TFLite."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import librosa
import numpy as np
import pytest

from zoo.errors import AudioError, ConfigError
from zoo.families.synthesis.griffin_lim.griffin_lim_vocoder import GriffinLimVocoder
from zoo.frontends import STFT, LogMelSpectrogram

SR = 16000
LINEAR = dict(num_mel_bins=None, input_scale="linear", power=1.0, frame_length=512, frame_step=128, fft_length=512)


def chirp(seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    x = 0.3 * np.sin(2 * np.pi * (200 * t + 300 * t ** 2)) + 0.2 * np.sin(2 * np.pi * 440 * t)
    return x[None].astype(np.float32)


def spectral_convergence(target, waveform):
    rebuilt = STFT(512, 128, 512)(waveform).numpy()
    return float(np.linalg.norm(target - rebuilt) / np.linalg.norm(target))


@pytest.fixture(scope="module")
def magnitude():
    return STFT(512, 128, 512)(chirp()).numpy()


def test_spectral_convergence_improves_with_iterations(magnitude):
    sc = {n: spectral_convergence(magnitude, GriffinLimVocoder(**LINEAR, num_iterations=n)(magnitude).numpy())
          for n in (0, 4, 32)}
    assert sc[0] > sc[4] > sc[32], sc
    assert sc[0] > 0.5  # zero phase is far from consistent
    assert sc[32] < 0.12, sc  # measured 0.077


def test_momentum_zero_is_classic_and_slower(magnitude):
    fast = spectral_convergence(magnitude, GriffinLimVocoder(**LINEAR, num_iterations=8)(magnitude).numpy())
    classic = spectral_convergence(magnitude, GriffinLimVocoder(**LINEAR, num_iterations=8, momentum=0.0)(
        magnitude).numpy())
    assert fast < classic


@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_matches_librosa_griffinlim_inside_the_edges(magnitude, momentum):
    y = GriffinLimVocoder(**LINEAR, num_iterations=6, momentum=momentum)(magnitude).numpy()[0]
    ref = librosa.griffinlim(magnitude[0].T.astype(np.float64), n_iter=6, hop_length=128, win_length=512,
                             n_fft=512, center=False, init=None, momentum=momentum)
    assert y.shape == ref.shape == ((magnitude.shape[1] - 1) * 128 + 512,)
    inner = slice(512, -512)
    np.testing.assert_allclose(y[inner], ref[inner], atol=1e-3 * np.abs(ref[inner]).max())
    # librosa divides the edge samples by a near-zero window sum; the vocoder fades them instead.
    assert np.abs(ref).max() > 100 * np.abs(y).max()
    assert np.abs(y).max() < 1.0


def test_mel_pseudo_inverse_is_a_right_inverse():
    vocoder = GriffinLimVocoder(sample_rate=SR, frame_length=400, frame_step=160, fft_length=512, num_mel_bins=40,
                                fmin=20.0, fmax=7600.0, num_iterations=0)
    frontend = LogMelSpectrogram(SR, 400, 160, 512, 40, 20.0, 7600.0)
    mel = frontend.mel_matrix  # [bins, mels]
    assert vocoder.inverse_mel_matrix.shape == (40, 257)
    # pinv(M) M = I for the full-column-rank filterbank: mel(P) of the least-squares P gives E back.
    np.testing.assert_allclose(vocoder.inverse_mel_matrix @ mel, np.eye(40), atol=2e-4)
    energies = frontend.mel_energies(chirp(0.5)).numpy()
    power = energies @ vocoder.inverse_mel_matrix
    np.testing.assert_allclose(power @ mel, energies, rtol=1e-3, atol=1e-3 * energies.max())


def test_log_mel_round_trip_keeps_the_mel_spectrogram():
    config = dict(sample_rate=SR, frame_length=400, frame_step=160, fft_length=512, num_mel_bins=40, fmin=20.0,
                  fmax=7600.0)
    frontend = LogMelSpectrogram(**config)
    x = chirp()
    log_mel = frontend(x).numpy()
    y = GriffinLimVocoder(**config, num_iterations=24)(log_mel).numpy()
    assert y.shape == (1, (log_mel.shape[1] - 1) * 160 + 400)
    again = frontend(y).numpy()
    # Compare energies where the reference has them (silence in log space dominates otherwise).
    e0, e1 = np.exp(log_mel[:, 3:-3]), np.exp(again[:, 3:-3])
    assert np.linalg.norm(e0 - e1) / np.linalg.norm(e0) < 0.35


def test_config_round_trip_and_keras_save(tmp_path, magnitude):
    layer = GriffinLimVocoder(**LINEAR, num_iterations=3, momentum=0.5, window="hamming")
    config = layer.get_config()
    for key, value in dict(LINEAR, num_iterations=3, momentum=0.5, window="hamming", eps=1e-8).items():
        assert config[key] == value, key
    clone = GriffinLimVocoder.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(clone(magnitude).numpy(), layer(magnitude).numpy())
    inp = keras.Input((None, 257), name="magnitude")
    model = keras.Model(inp, layer(inp))
    model.save(tmp_path / "gl.keras")
    loaded = keras.models.load_model(tmp_path / "gl.keras", safe_mode=True)
    np.testing.assert_allclose(loaded(magnitude).numpy(), model(magnitude).numpy(), atol=1e-6)
    assert loaded.output_shape == (None, None)


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="momentum"):
        GriffinLimVocoder(momentum=1.0)
    with pytest.raises(ConfigError, match="input_scale"):
        GriffinLimVocoder(input_scale="db")
    with pytest.raises(ConfigError, match="num_iterations"):
        GriffinLimVocoder(num_iterations=-1)
    with pytest.raises(AudioError, match="wrong number of bins"):
        GriffinLimVocoder(num_mel_bins=80).compute_output_shape((1, 10, 64))
    with pytest.raises(AudioError, match="rank"):
        GriffinLimVocoder(num_mel_bins=80)(np.zeros((10, 80), np.float32))


CONVERT = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras, numpy as np, tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    from zoo.families.synthesis.griffin_lim.griffin_lim_vocoder import GriffinLimVocoder
    from zoo.frontends import LogMelSpectrogram

    config = dict(sample_rate=16000, frame_length=400, frame_step=160, fft_length=512, num_mel_bins=40,
                  fmin=20.0, fmax=7600.0)
    t = np.arange(8000) / 16000
    x = (0.3 * np.sin(2 * np.pi * (200 * t + 600 * t ** 2)))[None].astype(np.float32)
    mel = LogMelSpectrogram(**config)(x).numpy()
    inp = keras.Input(mel.shape[1:], batch_size=1, name="log_mel")
    model = keras.Model(inp, GriffinLimVocoder(**config, num_iterations=8)(inp))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    content = converter.convert()
    interp = Interpreter(model_content=content,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], mel)
    interp.invoke()
    y = interp.get_tensor(interp.get_output_details()[0]["index"])
    ref = model(mel).numpy()
    json.dump({"max_abs": float(np.abs(y - ref).max()), "peak": float(np.abs(ref).max()),
               "shape": list(y.shape), "ref_shape": list(ref.shape), "bytes": len(content),
               "ops": sorted({d["op_name"] for d in interp._get_ops_details()})}, open(sys.argv[1], "w"))
""")


def test_converts_to_tflite_builtins(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "result.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", CONVERT, str(out)], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["shape"] == result["ref_shape"] == [1, (48 - 1) * 160 + 400]
    assert result["max_abs"] <= 1e-4 * max(1.0, result["peak"]), result
    assert not [op for op in result["ops"] if op.startswith("FlexDelegate") or "CUSTOM" in op], result["ops"]
    assert "RFFT2D" in result["ops"]  # the STFT inside the loop
    assert result["bytes"] < 2_000_000  # the unrolled iterations share one iDFT basis constant
