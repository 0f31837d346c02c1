"""Settings shared by the separation families: the corpora and the preset schema."""

TWO_SPEAKER = {"corpus": "speech-mixtures-2spk", "split_by": "voice", "synthetic_speech": True, "num_sources": 2}
NOISY_SPEECH = {"corpus": "noisy-speech", "split_by": "voice", "synthetic_speech": True, "num_sources": 1}


def separation_preset(*, name, family, description, backbone_class, backbone_config, data, sample_rate, training,
                      paper):
    """A SourceSeparator preset (plain data, DESIGN.md 4.5); the backbone owns its transform."""
    return dict(
        name=name,
        family=family,
        task="separation",
        task_class="SourceSeparator",
        description=description,
        sample_rate=sample_rate,
        frontend=None,
        backbone={"class_name": backbone_class, "config": dict(backbone_config)},
        task_config={},
        data=dict(data),
        training=dict(training),
        paper=paper,
        license="Apache-2.0",
    )
