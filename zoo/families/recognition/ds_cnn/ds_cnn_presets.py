"""DS-CNN presets (Zhang et al. 2017). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import (
    KWS_AUGMENT,
    CLIP_SAMPLES,
    KWS12_LABELS,
    KWS35_LABELS,
    KWS_LOGMEL,
    KWS_NUM_FEATURES,
    KWS_NUM_FRAMES,
    SAMPLE_RATE,
)

_PAPER = "Zhang et al. 2017, Hello Edge: Keyword Spotting on Microcontrollers, arXiv:1711.07128"

# Hello Edge's DS-CNN-S has 64 filters and 4 blocks on 49x10 MFCCs with a (2, 2) first stride. On
# 40 log-mel bands a (2, 4) stride with an 8-band kernel gives the same 25x10 map (~6 M MACs).
_SMALL = {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, "filters": 64, "num_blocks": 4,
          "first_kernel_size": [10, 8], "first_strides": [2, 4], "kernel_size": [3, 3], "dropout": 0.1}

PRESETS = [
    dict(
        name="kws_dscnn_small_synth",
        family="ds_cnn",
        task="recognition",
        task_class="AudioClassifier",
        description="DS-CNN small (Zhang et al. 2017) keyword spotter, 12-class protocol, trained on "
        "speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": "DSCNNBackbone", "config": dict(_SMALL)},
        task_config={"labels": KWS12_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws12"},
        training={**KWS_AUGMENT, "epochs": 70, "batch_size": 100, "learning_rate": 3e-3, "weight_decay": 1e-4, "dropout": 0.1,
                  "time_budget_min": 25},
        paper=_PAPER,
        license="Apache-2.0",
    ),
    dict(
        name="kws_dscnn_35_synth",
        family="ds_cnn",
        task="recognition",
        task_class="AudioClassifier",
        description="DS-CNN (Zhang et al. 2017) keyword spotter, 35 words + silence (kws35 protocol), trained "
        "on speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        # Same body as small: 96 filters doubled MACs and CPU time (5.2 vs 2.1 s per 1000 training clips)
        # and would not fit the budget; the 35 classes get their own head.
        backbone={"class_name": "DSCNNBackbone", "config": dict(_SMALL)},
        task_config={"labels": KWS35_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws35"},
        training={**KWS_AUGMENT, "epochs": 20, "batch_size": 100, "learning_rate": 2e-3, "weight_decay": 1e-4, "dropout": 0.1,
                  "time_budget_min": 18},
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
