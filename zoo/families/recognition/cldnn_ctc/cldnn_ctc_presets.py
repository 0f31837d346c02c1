"""CLDNN + CTC presets (Sainath et al. 2015). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.asr_protocol import asr_preset

_PAPER = ("Sainath et al. 2015, Convolutional, Long Short-Term Memory, fully connected Deep Neural Networks, "
          "ICASSP 2015")

PRESETS = [
    asr_preset(
        name="asr_cldnn_ctc_small_synth",
        family="cldnn_ctc",
        description="CLDNN (conv + 2 BiLSTM + DNN) character CTC recogniser, trained on speech-sentences-synth",
        backbone_class="CLDNNCTCBackbone",
        backbone_config={"conv_filters": 32, "conv_kernel_size": [5, 8], "time_stride": 2, "freq_pool": 3,
                         "projection_units": 128, "lstm_units": 128, "num_lstm_layers": 2, "bidirectional": True,
                         "dnn_units": 256, "dropout": 0.1},
        training={"batch_size": 32, "learning_rate": 0.002, "weight_decay": 0.0001, "dropout": 0.1,
                  "warmup_epochs": 1, "patience": 8, "time_budget_min": 15},
        paper=_PAPER,
    ),
]
