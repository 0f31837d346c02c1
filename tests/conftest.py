import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_configure(config):
    # zoo.load caches pulled presets under ZOO_HOME: keep tests out of the user's ~/.cache/zoo.
    import tempfile

    os.environ.setdefault("ZOO_HOME", tempfile.mkdtemp(prefix="zoo-home-"))


def small_tts_task(seed=0, iterations=4, name="tts_small"):
    """A small random-weight FastSpeech + Griffin-Lim TextToSpeech (about 4 frames per phoneme)."""
    import keras
    import numpy as np

    from zoo.families.synthesis.fastspeech.fastspeech_backbone import FastSpeechBackbone
    from zoo.families.synthesis.synthesis_protocol import TTS_MEL
    from zoo.tasks.synthesis import TextToSpeech

    keras.utils.set_random_seed(seed)
    backbone = FastSpeechBackbone(66, channels=32, encoder_dilations=[1, 2], decoder_dilations=[1, 2],
                                  duration_channels=16, mel_mean=-7.9)
    vocoder = {"class_name": "GriffinLimVocoder", "config": {**TTS_MEL, "num_iterations": iterations}}
    task = TextToSpeech(backbone, 16000, vocoder=vocoder, name=name)
    # Random weights predict ~0 frames per phoneme; bias the duration head to ~4 frames.
    task.backbone.duration_out.bias.assign([np.log1p(4.0)])
    return task
