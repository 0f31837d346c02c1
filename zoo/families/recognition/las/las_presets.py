"""LAS presets (Chan et al. 2016; location-aware attention, Chorowski et al. 2015). Presets are data."""

from zoo.families.recognition.asr_protocol import CHAR_VOCABULARY_SIZE, asr_preset

_PAPER = ("Chan et al. 2016, Listen, Attend and Spell, ICASSP 2016; Chorowski et al. 2015, Attention-Based Models "
          "for Speech Recognition, NeurIPS 2015")
_JOINT_PAPER = _PAPER + ("; Kim, Hori & Watanabe 2017, Joint CTC-Attention Based End-to-End Speech Recognition "
                         "Using Multi-Task Learning, ICASSP 2017")

_SPELLER = {"vocabulary_size": CHAR_VOCABULARY_SIZE, "embedding_dim": 48, "decoder_units": 128,
            "attention_units": 96, "location_filters": 16, "location_kernel_size": 15, "label_smoothing": 0.1,
            "length_penalty": 0.5}
_LISTENER = {"conv_filters": 16, "conv_kernel_size": [5, 11], "conv_stride": 2, "lstm_units": 96, "dropout": 0.1}
_TRAINING = {"batch_size": 32, "learning_rate": 0.002, "weight_decay": 0.0001, "dropout": 0.1, "warmup_epochs": 1,
             "patience": 8, "time_budget_min": 15}

PRESETS = [
    asr_preset(
        name="asr_las_small_synth",
        family="las",
        description="Listen, attend and spell (conv + BLSTM + 2 pyramidal BLSTM listener, location-aware attention "
                    "LSTM speller) character recogniser, trained on speech-sentences-synth",
        backbone_class="LASBackbone",
        backbone_config={**_LISTENER, "num_pyramid_layers": 2},
        decoder={"class_name": "LASSpeller", "config": _SPELLER},
        task_config={"max_output_length": 150},
        training=_TRAINING,
        paper=_PAPER,
    ),
    # Characters come at up to ~20 per second (fast voices, tempo perturbation): CTC needs a frame per
    # label, so the listener keeps 40 ms frames (one pyramid layer) instead of 80 ms.
    asr_preset(
        name="asr_las_ctc_small_synth",
        family="las",
        description="LAS trained with the joint CTC-attention loss (CTC weight 0.3 on the listener memory; conv + "
                    "BLSTM + 1 pyramidal BLSTM listener, 40 ms frames), trained on speech-sentences-synth",
        backbone_class="LASBackbone",
        backbone_config={**_LISTENER, "num_pyramid_layers": 1},
        decoder={"class_name": "LASSpeller", "config": {**_SPELLER, "ctc_weight": 0.3}},
        task_config={"max_output_length": 150},
        training=_TRAINING,
        paper=_JOINT_PAPER,
    ),
]
