"""DTLN denoiser presets (Westhausen & Meyer 2020). Presets are data (DESIGN.md 4.5)."""

from zoo.families.separation.separation_protocol import NOISY_SPEECH, separation_preset

_PAPER = ("Westhausen & Meyer 2020, Dual-Signal Transformation LSTM Network for Real-Time Noise Suppression, "
          "Interspeech 2020, arXiv:2005.07551")
_TRAINING = {"crop_seconds": 3.0, "batch_size": 16, "learning_rate": 1e-3, "loss": "si_sdr", "clipnorm": 3.0,
             "time_budget_min": 80, "patience": 8, "steps_per_epoch": 50, "test_examples": 150}

PRESETS = [
    separation_preset(
        name="enh_dtln_16k",
        family="dtln",
        description="DTLN denoiser (two LSTM stages: DFT-magnitude mask, learned-basis mask), 32 ms frames / 8 ms "
                    "hop, trained on noisy-speech (16 kHz)",
        backbone_class="DTLNBackbone",
        backbone_config={"frame_length": 512, "frame_step": 128, "lstm_units": 128, "num_layers": 2,
                         "encoder_size": 256, "dropout": 0.1},
        data=NOISY_SPEECH,
        sample_rate=16000,
        training=_TRAINING,
        paper=_PAPER,
    ),
    separation_preset(
        name="enh_dtln_hearing_16k",
        family="dtln",
        description="DTLN hearing-device profile: 8 ms frames / 2 ms hop (8 ms algorithmic latency), trained on "
                    "noisy-speech (16 kHz)",
        backbone_class="DTLNBackbone",
        backbone_config={"frame_length": 128, "frame_step": 32, "lstm_units": 128, "num_layers": 2,
                         "encoder_size": 128, "dropout": 0.1},
        data=NOISY_SPEECH,
        sample_rate=16000,
        training={**_TRAINING, "batch_size": 8, "time_budget_min": 30},
        paper=_PAPER,
    ),
]
