"""RNN-T presets (Graves 2012). Presets are data (DESIGN.md 4.5)."""

from zoo.families.recognition.asr_protocol import (CHAR_VOCABULARY_SIZE, WORD_PIECE_TOKENIZER,
                                                   WORD_PIECE_VOCABULARY_SIZE, asr_preset)

_PAPER = "Graves 2012, Sequence Transduction with Recurrent Neural Networks, arXiv:1211.3711"
_ENCODER = {"conv_filters": [32, 32], "conv_kernel_sizes": [[11, 11], [11, 7]], "conv_strides": [[2, 2], [2, 2]],
            "rnn_units": 128, "num_rnn_layers": 2, "bidirectional": True, "causal": False, "dropout": 0.1}

PRESETS = [
    asr_preset(
        name="asr_rnnt_small_synth",
        family="rnnt",
        description="RNN transducer (conv + 2 BiGRU encoder, 1-layer LSTM prediction network, joint network) "
                    "character recogniser, trained on speech-sentences-synth",
        backbone_class="RNNTBackbone",
        backbone_config=_ENCODER,
        decoder={"class_name": "RNNTDecoder",
                 "config": {"vocabulary_size": CHAR_VOCABULARY_SIZE, "embedding_dim": 48, "prediction_units": 128,
                            "joint_units": 96, "max_symbols_per_frame": 4}},
        training={"batch_size": 24, "learning_rate": 0.002, "weight_decay": 0.0001, "dropout": 0.1,
                  "warmup_epochs": 1, "patience": 8, "time_budget_min": 15},
        paper=_PAPER,
    ),
    asr_preset(
        name="asr_rnnt_words_synth",
        family="rnnt",
        description="RNN transducer over word pieces (whole words of the training transcripts, characters for "
                    "any other word): the encoder of asr_rnnt_small_synth, trained on speech-sentences-synth",
        backbone_class="RNNTBackbone",
        backbone_config=_ENCODER,
        decoder={"class_name": "RNNTDecoder",
                 "config": {"vocabulary_size": WORD_PIECE_VOCABULARY_SIZE, "embedding_dim": 64,
                            "prediction_units": 128, "joint_units": 128, "max_symbols_per_frame": 4}},
        task_config={"tokenizer": WORD_PIECE_TOKENIZER},
        training={"batch_size": 24, "learning_rate": 0.001, "weight_decay": 0.0001, "dropout": 0.1,
                  "warmup_epochs": 1, "patience": 8, "time_budget_min": 15},
        paper=_PAPER,
    ),
]
