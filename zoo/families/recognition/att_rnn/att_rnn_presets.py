"""Attention RNN presets (de Andrade et al. 2018). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import (
    KWS_AUGMENT,
    CLIP_SAMPLES,
    KWS12_LABELS,
    KWS_LOGMEL,
    KWS_NUM_FEATURES,
    KWS_NUM_FRAMES,
    SAMPLE_RATE,
)

# The paper's topology with 32 instead of 64 LSTM units per direction (~54k params, ~2.3 M MACs);
# 49 bidirectional LSTM steps make it the slowest small preset per epoch after DS-CNN.

_PAPER = "de Andrade et al. 2018, A neural attention model for speech command recognition, arXiv:1808.08929"
_BACKBONE = {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, "conv_filters": 10,
    "conv_kernel_size": [5, 1], "rnn_type": "lstm", "rnn_units": 32,
    "num_rnn_layers": 2, "query_frame": "middle", "dense_units": [64, 32],
    "dropout": 0.1, "unroll": False}
_TRAINING = {**KWS_AUGMENT, "epochs": 30, "batch_size": 100, "learning_rate": 1e-3, "weight_decay": 1e-4, "dropout": 0.1,
    "time_budget_min": 10}

PRESETS = [
    dict(
        name="kws_attrnn_small_synth",
        family="att_rnn",
        task="recognition",
        task_class="AudioClassifier",
        description="Attention RNN (de Andrade et al. 2018) keyword spotter, 12-class protocol,"
        " trained on speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": "AttRNNBackbone", "config": dict(_BACKBONE)},
        task_config={"labels": KWS12_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws12"},
        training=dict(_TRAINING),
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
