"""CNN presets (Sainath & Parada 2015). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.kws_protocol import KWS_NUM_FRAMES, kws_preset

# The paper's two topologies as CNNBackbone arguments (time x frequency). cnn-trad-fpool3 is the
# CNNBackbone default (~9 M MACs at 49x40 and a 160k-weight bottleneck): too big for "small".
TRAD_FPOOL3 = {
    "conv_filters": [64, 64],
    "conv_kernel_sizes": [[20, 8], [10, 4]],
    "conv_strides": [[1, 1], [1, 1]],
    "pool_sizes": [[1, 3], [1, 1]],
    "linear_units": 32,
    "dense_units": [128],
}

# one-fstride4 (paper sizes): one conv spanning every frame, frequency stride 4, then linear + 2 DNN
# layers. Kept as a reference topology; the shipped preset does not use it (see below).
ONE_FSTRIDE4 = {
    "conv_filters": [186],
    "conv_kernel_sizes": [[KWS_NUM_FRAMES, 8]],
    "conv_strides": [[1, 4]],
    "pool_sizes": [[1, 1]],
    "linear_units": 128,
    "dense_units": [128, 128],
}

_PAPER = "Sainath & Parada 2015, Convolutional Neural Networks for Small-footprint Keyword Spotting, Interspeech 2015"
# cnn-trad-fpool3 slimmed to "small" (24/24 filters, time pooling after the first conv). The
# one-fstride4 topology (one conv spanning every frame) measured 48% on held-out voices: words sit at
# random offsets in the clip, and a full-time kernel is not shift-tolerant.

PRESETS = [
    kws_preset(
        name='kws_cnn_small_synth',
        family='cnn',
        description='CNN trad-fpool3, slimmed (Sainath & Parada 2015) keyword spotter, 12-class protocol, trained on speech-commands-synth',
        backbone_class='CNNBackbone',
        backbone_config={'conv_filters': [24, 24], 'conv_kernel_sizes': [[20, 8], [10, 4]], 'conv_strides': [[1, 1], [1, 1]], 'pool_sizes': [[2, 3], [1, 1]], 'linear_units': 32, 'dense_units': [128], 'dropout': 0.2},
        training={'epochs': 40, 'batch_size': 100, 'learning_rate': 0.001, 'weight_decay': 0.0001, 'dropout': 0.2, 'time_budget_min': 8},
        paper=_PAPER,
        protocol='kws12',
    ),
]
