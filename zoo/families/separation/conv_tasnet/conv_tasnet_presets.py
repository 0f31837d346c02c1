"""Conv-TasNet presets (Luo & Mesgarani 2019), sized for CPU training. Presets are data (DESIGN.md 4.5)."""

from zoo.families.separation.separation_protocol import TWO_SPEAKER, separation_preset

_PAPER = ("Luo & Mesgarani 2019, Conv-TasNet: Surpassing Ideal Time-Frequency Magnitude Masking for Speech "
          "Separation, IEEE/ACM TASLP 27(8), arXiv:1809.07454")

# The paper's best model is N=512, L=16, B=128, H=512, X=8, R=3 (5.1 M params). On two CPU cores a
# 25-minute budget affords a narrower net with a longer window (L=32, 4 ms hop at 8 kHz: half the frames).
_SMALL = {"num_sources": 2, "encoder_filters": 128, "kernel_size": 32, "bottleneck_channels": 64,
          "hidden_channels": 128, "skip_channels": 64, "conv_kernel_size": 3, "num_blocks": 7, "num_repeats": 2}
_TRAINING = {"crop_seconds": 2.0, "batch_size": 8, "learning_rate": 1e-3, "loss": "pit_si_sdr", "clipnorm": 5.0,
             "time_budget_min": 25, "patience": 6, "steps_per_epoch": 100}

PRESETS = [
    separation_preset(
        name="sep_convtasnet_small_2spk",
        family="conv_tasnet",
        description="Conv-TasNet (gLN, non-causal) two-speaker separator, trained on speech-mixtures-2spk (8 kHz)",
        backbone_class="ConvTasNetBackbone",
        backbone_config={**_SMALL, "causal": False},
        data=TWO_SPEAKER,
        sample_rate=8000,
        training=_TRAINING,
        paper=_PAPER,
    ),
    separation_preset(
        name="sep_convtasnet_causal_2spk",
        family="conv_tasnet",
        description="Causal Conv-TasNet (cLN, past-only convs) two-speaker separator, trained on speech-mixtures-2spk",
        backbone_class="ConvTasNetBackbone",
        backbone_config={**_SMALL, "causal": True},
        data=TWO_SPEAKER,
        sample_rate=8000,
        training={**_TRAINING, "time_budget_min": 40},
        paper=_PAPER,
    ),
]
