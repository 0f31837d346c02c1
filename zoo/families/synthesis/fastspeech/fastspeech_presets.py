"""FastSpeech presets. Presets are data (DESIGN.md 4.5)."""

from zoo.families.synthesis.synthesis_protocol import TTS_CORPUS, TTS_MEL

_PAPER = ("Ren et al. 2019, FastSpeech: Fast, Robust and Controllable Text to Speech, arXiv:1905.09263; "
          "convolutional blocks as Vainer & Dusek 2020, SpeedySpeech, arXiv:2008.03802")
VOCABULARY_SIZE = 66  # zoo.text.PhonemeTokenizer: padding, word boundary, 64 espeak-ng phonemes

PRESETS = [
    dict(
        name="tts_fastspeech_slt",
        family="fastspeech",
        task="synthesis",
        task_class="TextToSpeech",
        description="Convolutional FastSpeech (phonemes -> 80-bin log-mel, durations from the synthesizer's "
                    "timings) with a Griffin-Lim vocoder, trained on tts-slt-synth (one voice)",
        sample_rate=TTS_MEL["sample_rate"],
        frontend=None,
        backbone={"class_name": "FastSpeechBackbone",
                  "config": {"vocabulary_size": VOCABULARY_SIZE, "num_mel_bins": TTS_MEL["num_mel_bins"],
                             "channels": 128, "kernel_size": 5, "encoder_dilations": [1, 2, 4, 1],
                             "decoder_dilations": [1, 2, 4, 8, 1, 2], "duration_channels": 128, "dropout": 0.1,
                             "mel_mean": -7.9}},
        task_config={"hop": TTS_MEL["frame_step"]},
        data=dict(TTS_CORPUS),
        training={"batch_size": 16, "learning_rate": 0.001, "time_budget_min": 35, "duration_loss_weight": 1.0},
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
