"""TC-ResNet presets (Choi et al. 2019). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import kws_preset

# TC-ResNet8 (k=1) as in the paper (~65k params, ~0.8 M MACs); 1-D convs are cheap on CPU, so more
# epochs fit the budget.

_PAPER = "Choi et al. 2019, Temporal Convolution for Real-time Keyword Spotting on Mobile Devices, arXiv:1904.03814"

PRESETS = [
    kws_preset(
        name='kws_tcresnet8_synth',
        family='tc_resnet',
        description='TC-ResNet8 (Choi et al. 2019) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='TCResNetBackbone',
        backbone_config={'first_filters': 16, 'stage_filters': [24, 32, 48], 'blocks_per_stage': 1, 'kernel_size': 9, 'first_kernel_size': 3, 'width_multiplier': 1.0, 'dropout': 0.1},
        training={'epochs': 40, 'batch_size': 100, 'learning_rate': 0.002, 'weight_decay': 0.0001, 'dropout': 0.1, 'time_budget_min': 8},
        paper=_PAPER,
        protocol='kws12',
    ),
]
