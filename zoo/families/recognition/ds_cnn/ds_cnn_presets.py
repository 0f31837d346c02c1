"""DS-CNN presets (Zhang et al. 2017). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import kws_preset

_PAPER = "Zhang et al. 2017, Hello Edge: Keyword Spotting on Microcontrollers, arXiv:1711.07128"

# Hello Edge's DS-CNN-S has 64 filters and 4 blocks on 49x10 MFCCs with a (2, 2) first stride. On
# 40 log-mel bands a (2, 4) stride with an 8-band kernel gives the same 25x10 map (~6 M MACs).

PRESETS = [
    kws_preset(
        name='kws_dscnn_small_synth',
        family='ds_cnn',
        description='DS-CNN small (Zhang et al. 2017) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='DSCNNBackbone',
        backbone_config={'filters': 64, 'num_blocks': 4, 'first_kernel_size': [10, 8], 'first_strides': [2, 4], 'kernel_size': [3, 3], 'dropout': 0.1},
        training={'epochs': 70, 'batch_size': 100, 'learning_rate': 0.003, 'weight_decay': 0.0001, 'dropout': 0.1, 'time_budget_min': 25},
        paper=_PAPER,
        protocol='kws12',
    ),
    kws_preset(
        name='kws_dscnn_35_synth',
        family='ds_cnn',
        description='DS-CNN (Zhang et al. 2017) keyword spotter, 35 words + silence (kws35 protocol), trained on speech-commands-synth',
        backbone_class='DSCNNBackbone',
        backbone_config={'filters': 64, 'num_blocks': 4, 'first_kernel_size': [10, 8], 'first_strides': [2, 4], 'kernel_size': [3, 3], 'dropout': 0.1},
        training={'epochs': 20, 'batch_size': 100, 'learning_rate': 0.002, 'weight_decay': 0.0001, 'dropout': 0.1, 'time_budget_min': 18},
        paper=_PAPER,
        protocol='kws35',
    ),
]
