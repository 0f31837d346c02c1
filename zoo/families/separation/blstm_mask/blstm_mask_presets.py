"""BLSTM mask-estimation presets. Presets are data (DESIGN.md 4.5)."""

from zoo.families.separation.separation_protocol import TWO_SPEAKER, separation_preset

_PAPER = ("Erdogan et al. 2015, Phase-sensitive and recognition-boosted speech separation using deep recurrent "
          "neural networks, ICASSP; Kolbaek et al. 2017, Multitalker speech separation with utterance-level PIT, "
          "IEEE/ACM TASLP 25(10)")

PRESETS = [
    separation_preset(
        name="sep_blstm_psm_2spk",
        family="blstm_mask",
        description="BLSTM T-F masks (2 x 128 per direction), uPIT with the phase-sensitive spectral loss, trained on "
                    "speech-mixtures-2spk (8 kHz)",
        backbone_class="BLSTMMaskBackbone",
        backbone_config={"num_sources": 2, "frame_length": 256, "frame_step": 64, "lstm_units": 128,
                         "num_layers": 2, "dropout": 0.1},
        data=TWO_SPEAKER,
        sample_rate=8000,
        training={"crop_seconds": 2.0, "batch_size": 16, "learning_rate": 1e-3, "loss": "pit_psa", "clipnorm": 5.0,
                  "time_budget_min": 8, "patience": 6, "steps_per_epoch": 25, "test_examples": 150},
        paper=_PAPER,
    ),
]
