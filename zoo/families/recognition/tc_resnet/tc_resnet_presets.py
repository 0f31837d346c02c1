"""TC-ResNet presets (Choi et al. 2019). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import (
    KWS_AUGMENT,
    CLIP_SAMPLES,
    KWS12_LABELS,
    KWS_LOGMEL,
    KWS_NUM_FEATURES,
    KWS_NUM_FRAMES,
    SAMPLE_RATE,
)

# TC-ResNet8 (k=1) as in the paper (~65k params, ~0.8 M MACs); 1-D convs are cheap on CPU, so more
# epochs fit the budget.

_PAPER = "Choi et al. 2019, Temporal Convolution for Real-time Keyword Spotting on Mobile Devices, arXiv:1904.03814"
_BACKBONE = {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, "first_filters": 16,
    "stage_filters": [24, 32, 48], "blocks_per_stage": 1, "kernel_size": 9,
    "first_kernel_size": 3, "width_multiplier": 1.0, "dropout": 0.1}
_TRAINING = {**KWS_AUGMENT, "epochs": 40, "batch_size": 100, "learning_rate": 2e-3, "weight_decay": 1e-4, "dropout": 0.1,
    "time_budget_min": 8}

PRESETS = [
    dict(
        name="kws_tcresnet8_synth",
        family="tc_resnet",
        task="recognition",
        task_class="AudioClassifier",
        description="TC-ResNet8 (Choi et al. 2019) keyword spotter, 12-class protocol,"
        " trained on speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": "TCResNetBackbone", "config": dict(_BACKBONE)},
        task_config={"labels": KWS12_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws12"},
        training=dict(_TRAINING),
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
