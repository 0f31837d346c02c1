"""DNN presets (Chen et al. 2014). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import kws_preset

# 3 x 128 ReLU as in the paper; 2x4 pooling stacks 24 frames x 10 bands (~64k params). Cheap per
# epoch, so more epochs; dropout because a DNN on a whole clip overfits fast.

_PAPER = "Chen, Parada & Heigold 2014, Small-footprint keyword spotting using deep neural networks, ICASSP 2014"

PRESETS = [
    kws_preset(
        name='kws_dnn_small_synth',
        family='dnn',
        description='Fully connected DNN (Chen et al. 2014) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='DNNBackbone',
        backbone_config={'hidden_units': [128, 128, 128], 'time_pool': 2, 'feature_pool': 4, 'dropout': 0.2},
        training={'epochs': 40, 'batch_size': 100, 'learning_rate': 0.001, 'weight_decay': 0.0001, 'dropout': 0.2, 'time_budget_min': 6},
        paper=_PAPER,
        protocol='kws12',
    ),
]
