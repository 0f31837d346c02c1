"""DNN presets (Chen et al. 2014). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import (
    KWS_AUGMENT,
    CLIP_SAMPLES,
    KWS12_LABELS,
    KWS_LOGMEL,
    KWS_NUM_FEATURES,
    KWS_NUM_FRAMES,
    SAMPLE_RATE,
)

# 3 x 128 ReLU as in the paper; 2x4 pooling stacks 24 frames x 10 bands (~64k params). Cheap per
# epoch, so more epochs; dropout because a DNN on a whole clip overfits fast.

_PAPER = "Chen, Parada & Heigold 2014, Small-footprint keyword spotting using deep neural networks, ICASSP 2014"
_BACKBONE = {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, "hidden_units": [128, 128, 128],
    "time_pool": 2, "feature_pool": 4, "dropout": 0.2}
_TRAINING = {**KWS_AUGMENT, "epochs": 40, "batch_size": 100, "learning_rate": 1e-3, "weight_decay": 1e-4, "dropout": 0.2,
    "time_budget_min": 6}

PRESETS = [
    dict(
        name="kws_dnn_small_synth",
        family="dnn",
        task="recognition",
        task_class="AudioClassifier",
        description="Fully connected DNN (Chen et al. 2014) keyword spotter, 12-class protocol,"
        " trained on speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": "DNNBackbone", "config": dict(_BACKBONE)},
        task_config={"labels": KWS12_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws12"},
        training=dict(_TRAINING),
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
