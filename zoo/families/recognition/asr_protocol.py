"""Speech-recognition settings shared by the sequence families (CTC, RNN-T, LAS) on speech-sentences-synth."""

import json
from pathlib import Path

SAMPLE_RATE = 16000

# 40 log-mel bins, 25 ms windows, 10 ms hop (100 frames/s); the encoders subsample time by 2 (50 Hz),
# enough frames for fast synthetic speech (up to ~25 characters/s) with CTC's blanks between repeats.
ASR_LOGMEL = {
    "class_name": "LogMelSpectrogram",
    "config": {
        "sample_rate": SAMPLE_RATE,
        "frame_length": 400,
        "frame_step": 160,
        "fft_length": 512,
        "num_mel_bins": 40,
        "fmin": 20.0,
        "fmax": 7600.0,
        "log_offset": 1e-6,
    },
}
ASR_NUM_FEATURES = 40

# Characters: blank (id 0), space, apostrophe, a-z; transcripts are normalised before encoding.
CHAR_TOKENIZER = {"class_name": "CharTokenizer", "config": {"characters": " 'abcdefghijklmnopqrstuvwxyz",
                                                            "normalize": True}}
CHAR_VOCABULARY_SIZE = 29

# Word pieces: every character (word-initial and "##"), then the words of the training transcripts
# (frozen in a file so that a model's vocabulary never changes under it; zoo.text.WordPieceTokenizer).
WORD_PIECES = json.loads((Path(__file__).parent / "speech_sentences_word_pieces.json").read_text())["pieces"]
WORD_PIECE_TOKENIZER = {"class_name": "WordPieceTokenizer", "config": {"pieces": WORD_PIECES, "normalize": True}}
WORD_PIECE_VOCABULARY_SIZE = len(WORD_PIECES) + 1

# Augmentation: light white noise and gain, SpecAugment masks narrower than a short word (~15 frames).
ASR_AUGMENT = {
    "noise_prob": 0.5,
    "snr_min_db": 10.0,
    "time_mask_param": 10,
    "freq_mask_param": 6,
    # Held-out voices and dialects: VTLP (Jaitly & Hinton 2013) and tempo changes of +-10 %.
    "freq_warp": 0.1,
    "tempo_perturb": 0.1,
}


def asr_preset(*, name, family, description, backbone_class, backbone_config, training, paper, decoder=None,
               task_config=None):
    """A speech-recognition preset (plain data, DESIGN.md 4.5) on the character tokenizer."""
    config = {"tokenizer": CHAR_TOKENIZER, **(task_config or {})}
    if decoder is not None:
        config["decoder"] = decoder
    return dict(
        name=name,
        family=family,
        task="recognition",
        task_class="SpeechRecognizer",
        description=description,
        sample_rate=SAMPLE_RATE,
        frontend=ASR_LOGMEL,
        backbone={"class_name": backbone_class, "config": {"num_features": ASR_NUM_FEATURES, **backbone_config}},
        task_config=config,
        data={"corpus": "speech-sentences-synth", "split_by": "voice", "synthetic_speech": True},
        training={**ASR_AUGMENT, **training},
        paper=paper,
        license="Apache-2.0",
    )
