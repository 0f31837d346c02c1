"""DeepSpeech2-style CTC presets (Amodei et al. 2016). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.asr_protocol import WORD_PIECE_TOKENIZER, asr_preset

_PAPER = "Amodei et al. 2016, Deep Speech 2: End-to-End Speech Recognition in English and Mandarin, arXiv:1512.02595"

_TRAINING = {"batch_size": 32, "learning_rate": 0.002, "weight_decay": 0.0001, "dropout": 0.1,
             "warmup_epochs": 1, "patience": 8, "time_budget_min": 15}

_SMALL = {"conv_filters": [32, 32], "conv_kernel_sizes": [[11, 11], [11, 7]], "conv_strides": [[2, 2], [1, 2]],
          "rnn_units": 128, "num_rnn_layers": 3, "bidirectional": True, "causal": False, "dropout": 0.1}

PRESETS = [
    asr_preset(
        name="asr_deepspeech2_small_synth",
        family="deepspeech2",
        description="DeepSpeech2-style (2 conv + 3 BiGRU) character CTC recogniser, trained on speech-sentences-synth",
        backbone_class="DeepSpeech2Backbone",
        backbone_config=_SMALL,
        training=_TRAINING,
        paper=_PAPER,
    ),
    asr_preset(
        name="asr_deepspeech2_words_synth",
        family="deepspeech2",
        description="DeepSpeech2-style (2 conv + 3 BiGRU) CTC recogniser over word pieces (whole words of the "
                    "training transcripts, characters for any other word): the encoder of "
                    "asr_deepspeech2_small_synth, trained on speech-sentences-synth",
        backbone_class="DeepSpeech2Backbone",
        backbone_config=_SMALL,
        task_config={"tokenizer": WORD_PIECE_TOKENIZER},
        training={**_TRAINING, "learning_rate": 0.001},
        paper=_PAPER,
    ),
    asr_preset(
        name="asr_deepspeech2_causal_synth",
        family="deepspeech2",
        description="Causal DeepSpeech2-style (past-only convs + 3 GRU) streaming CTC recogniser, "
                    "trained on speech-sentences-synth",
        backbone_class="DeepSpeech2Backbone",
        backbone_config={"conv_filters": [32, 32], "conv_kernel_sizes": [[5, 11], [5, 7]],
                         "conv_strides": [[2, 2], [1, 2]], "rnn_units": 192, "num_rnn_layers": 3,
                         "bidirectional": False, "causal": True, "dropout": 0.1},
        training=_TRAINING,
        paper=_PAPER,
    ),
]
