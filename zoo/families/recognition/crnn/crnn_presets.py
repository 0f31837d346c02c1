"""CRNN presets (Arik et al. 2017; Hello Edge CRNN). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import (
    KWS_AUGMENT,
    CLIP_SAMPLES,
    KWS12_LABELS,
    KWS_LOGMEL,
    KWS_NUM_FEATURES,
    KWS_NUM_FRAMES,
    SAMPLE_RATE,
)

# One 16-filter conv to a 25x10 map, 2 x GRU(48), last state, Dense 64 (~49k params, ~1.4 M MACs).
# GRUs train slower per MAC on CPU than convs; lr 1e-3 keeps the recurrences stable.

_PAPER = ("Arik et al. 2017, Convolutional Recurrent Neural Networks for Small-Footprint Keyword Spotting, "
          "arXiv:1703.05390")
_BACKBONE = {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, "conv_filters": 16,
    "conv_kernel_size": [10, 8], "conv_strides": [2, 4], "rnn_type": "gru",
    "rnn_units": 48, "num_rnn_layers": 2, "pooling": "last", "dense_units": 64,
    "dropout": 0.1, "unroll": False}
_TRAINING = {**KWS_AUGMENT, "epochs": 30, "batch_size": 100, "learning_rate": 1e-3, "weight_decay": 1e-4, "dropout": 0.1,
    "time_budget_min": 10}

PRESETS = [
    dict(
        name="kws_crnn_small_synth",
        family="crnn",
        task="recognition",
        task_class="AudioClassifier",
        description="CRNN (conv + 2 GRU layers, Arik et al. 2017) keyword spotter, 12-class protocol,"
        " trained on speech-commands-synth",
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": "CRNNBackbone", "config": dict(_BACKBONE)},
        task_config={"labels": KWS12_LABELS, "clip_samples": CLIP_SAMPLES},
        data={"corpus": "speech-commands-synth", "protocol": "kws12"},
        training=dict(_TRAINING),
        paper=_PAPER,
        license="Apache-2.0",
    ),
]
