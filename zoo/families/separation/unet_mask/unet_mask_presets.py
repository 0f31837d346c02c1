"""U-Net mask presets. Presets are data (DESIGN.md 4.5)."""

from zoo.families.separation.separation_protocol import separation_preset

_PAPER = ("Jansson et al. 2017, Singing voice separation with deep U-Net convolutional networks, ISMIR; "
          "Hennequin et al. 2020, Spleeter: a fast and efficient music source separation tool with pre-trained "
          "models, JOSS 5(50)")

MUSIC_STEMS = {"corpus": "music-stems", "split_by": "song", "synthetic_music": True, "num_sources": 4,
               "sources": ["bass", "drums", "chords", "lead"]}

PRESETS = [
    separation_preset(
        name="sep_unet_stems",
        family="unet_mask",
        description="Spleeter-style U-Net (5 levels, 16-256 filters) predicting softmax masks for 4 music stems "
                    "(bass, drums, chords, lead) on a 1024/256 Hann STFT, trained with SI-SDR in fixed stem order "
                    "on music-stems (16 kHz)",
        backbone_class="UNetMaskBackbone",
        backbone_config={"num_sources": 4, "frame_length": 1024, "frame_step": 256, "base_filters": 16, "depth": 5,
                         "kernel_size": 5, "dropout": 0.0, "mask_activation": "softmax"},
        data=MUSIC_STEMS,
        sample_rate=16000,
        training={"crop_seconds": 2.0, "batch_size": 8, "learning_rate": 1e-3, "loss": "si_sdr", "clipnorm": 5.0,
                  "time_budget_min": 8, "patience": 6, "steps_per_epoch": 25, "validation_examples": 30,
                  "test_examples": 30},
        paper=_PAPER,
    ),
]
