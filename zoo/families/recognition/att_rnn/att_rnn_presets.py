"""Attention RNN presets (de Andrade et al. 2018). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import kws_preset

# The paper's topology with 32 instead of 64 LSTM units per direction (~54k params, ~2.3 M MACs);
# 49 bidirectional LSTM steps make it the slowest small preset per epoch after DS-CNN.

_PAPER = "de Andrade et al. 2018, A neural attention model for speech command recognition, arXiv:1808.08929"

PRESETS = [
    kws_preset(
        name='kws_attrnn_small_synth',
        family='att_rnn',
        description='Attention RNN (de Andrade et al. 2018) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='AttRNNBackbone',
        backbone_config={'conv_filters': 10, 'conv_kernel_size': [5, 1], 'rnn_type': 'lstm', 'rnn_units': 32, 'num_rnn_layers': 2, 'query_frame': 'middle', 'dense_units': [64, 32], 'dropout': 0.1, 'unroll': False},
        training={'epochs': 30, 'batch_size': 100, 'learning_rate': 0.001, 'weight_decay': 0.0001, 'dropout': 0.1, 'time_budget_min': 10},
        paper=_PAPER,
        protocol='kws12',
    ),
]
