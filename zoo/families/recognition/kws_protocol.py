"""Keyword-spotting protocols shared by every KWS family (Warden 2018, Speech Commands v2)."""

# The 35 words of Speech Commands v2, digits included.
SPEECH_COMMANDS_WORDS = [
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one",
    "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow",
    "yes", "zero",
]

SILENCE = "silence"
UNKNOWN = "unknown"

# The 12-class protocol: 10 command words + silence + unknown (the other 25 words).
KWS12_LABELS = [SILENCE, UNKNOWN, "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]

# All 35 words plus silence (no unknown class: every word is a target).
KWS35_LABELS = [SILENCE] + SPEECH_COMMANDS_WORDS

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000  # 1 s clips, as in Speech Commands

# Frontend shared by the small KWS presets: 40 log-mel bins, 30 ms windows, 20 ms hop -> 49 frames.
# The 20 ms hop is the streaming step of the frame-based spotters.
KWS_LOGMEL = {
    "class_name": "LogMelSpectrogram",
    "config": {
        "sample_rate": SAMPLE_RATE,
        "frame_length": 480,
        "frame_step": 320,
        "fft_length": 512,
        "num_mel_bins": 40,
        "fmin": 20.0,
        "fmax": 7600.0,
        "log_offset": 1e-6,
    },
}
KWS_NUM_FRAMES = 1 + (CLIP_SAMPLES - 480) // 320  # 49
KWS_NUM_FEATURES = 40

# Augmentation recipe shared by the KWS presets (experiment settings, see training/experiment.py).
# Test clips are clean speech from unseen voices: moderate noise and short SpecAugment masks
# (a word spans ~18 of the 49 frames) regularise without drowning the word.
KWS_AUGMENT = {
    "noise_prob": 0.6,
    "snr_min_db": 5.0,
    "reverb_prob": 0.2,
    "time_mask_param": 5,
    "freq_mask_param": 5,
}


def kws_preset(*, name, family, description, backbone_class, backbone_config, training, paper, protocol="kws12"):
    """A keyword-spotting preset (plain data, DESIGN.md 4.5): the parts every KWS family shares
    (frontend, labels, corpus, augmentation recipe, license) filled in once, here."""
    labels = {"kws12": KWS12_LABELS, "kws35": KWS35_LABELS}[protocol]
    return dict(
        name=name,
        family=family,
        task="recognition",
        task_class="AudioClassifier",
        description=description,
        sample_rate=SAMPLE_RATE,
        frontend=KWS_LOGMEL,
        backbone={"class_name": backbone_class,
                  "config": {"num_frames": KWS_NUM_FRAMES, "num_features": KWS_NUM_FEATURES, **backbone_config}},
        task_config={"labels": labels, "clip_samples": CLIP_SAMPLES},
        # synthetic_speech: the corpus is text-to-speech; model cards state the limitation from it.
        data={"corpus": "speech-commands-synth", "protocol": protocol, "synthetic_speech": True},
        training={**KWS_AUGMENT, **training},
        paper=paper,
        license="Apache-2.0",
    )
