"""CRNN presets (Arik et al. 2017; Hello Edge CRNN). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import kws_preset

# One 16-filter conv to a 25x10 map, 2 x GRU(48), last state, Dense 64 (~49k params, ~1.4 M MACs).
# GRUs train slower per MAC on CPU than convs; lr 1e-3 keeps the recurrences stable.

_PAPER = ("Arik et al. 2017, Convolutional Recurrent Neural Networks for Small-Footprint Keyword Spotting, "
          "arXiv:1703.05390")

PRESETS = [
    kws_preset(
        name='kws_crnn_small_synth',
        family='crnn',
        description='CRNN (conv + 2 GRU layers, Arik et al. 2017) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='CRNNBackbone',
        backbone_config={'conv_filters': 16, 'conv_kernel_size': [10, 8], 'conv_strides': [2, 4], 'rnn_type': 'gru', 'rnn_units': 48, 'num_rnn_layers': 2, 'pooling': 'last', 'dense_units': 64, 'dropout': 0.1, 'unroll': False},
        training={'epochs': 30, 'batch_size': 100, 'learning_rate': 0.001, 'weight_decay': 0.0001, 'dropout': 0.1, 'time_budget_min': 10},
        paper=_PAPER,
        protocol='kws12',
    ),
]
