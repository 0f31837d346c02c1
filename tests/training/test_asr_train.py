"""training.asr_train end to end on the tiny sentence corpus: a short budget still checks in, keeps
its best weights, evaluates greedy and beam WER on the test split and writes summary.json."""

import json


def test_tiny_asr_recipe_runs_and_reports_wer(tmp_path):
    from training.asr_train import split_rows, train_asr
    from zoo.presets import sha256_file

    summary = train_asr("asr_deepspeech2_causal_synth", {
        "corpus_scale": "tiny", "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs"),
        "time_budget_min": 0.05, "batch_size": 4, "patience": 1}, verbose=0)
    run = tmp_path / "runs" / "asr_deepspeech2_causal_synth"
    written = json.loads((run / "summary.json").read_text())
    assert written["preset"] == "asr_deepspeech2_causal_synth"
    for key in ("test_wer_greedy", "test_wer_beam", "test_cer_greedy", "validation_wer_greedy"):
        assert 0.0 <= written[key] <= 10.0, key  # an untrained model inserts and deletes, but WER is finite
    assert written["test_utterances"] > 0 and written["updates"] > 0
    assert (run / "model.weights.h5").is_file()
    history = json.loads((run / "history.json").read_text())
    assert history and all("val_wer" in h for h in history)
    validation = len(split_rows(tmp_path / "data" / "speech-sentences-synth" / "manifest.jsonl", "validation"))
    assert all(h["checkin_utterances"] == min(200, validation) for h in history)  # the default subset
    assert summary["test_wer_greedy"] == written["test_wer_greedy"]
    groups = written["test_wer_greedy_by_group"]  # every test utterance in exactly one voice group
    assert sum(g["utterances"] for g in groups.values()) == written["test_utterances"]

    # `zoo train PRESET --set init_weights=PATH` continues from a run and records what it continued.
    again = train_asr("asr_deepspeech2_causal_synth", {
        "corpus_scale": "tiny", "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs2"),
        "time_budget_min": 0.05, "batch_size": 4, "patience": 1, "init_weights": str(run / "model.weights.h5"),
        "checkin_utterances": "3"}, verbose=0)
    assert all(h["checkin_utterances"] == 3 for h in json.loads((tmp_path / "runs2" / run.name / "history.json")
                                                                .read_text()))
    assert again["continued_from"] == {"weights": str(run / "model.weights.h5"),
                                       "sha256": sha256_file(run / "model.weights.h5"),
                                       "train_minutes": written["train_minutes"], "updates": written["updates"],
                                       "test_wer_greedy": written["test_wer_greedy"]}

    # `--set average_runs=A,B`: a soup of two runs that continued the same weights is their mean, and
    # costs what both did.
    import numpy as np
    import pytest

    from zoo.errors import ConfigError
    from zoo.presets import build_task, get_preset

    third = train_asr("asr_deepspeech2_causal_synth", {
        "corpus_scale": "tiny", "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs3"),
        "time_budget_min": 0.05, "batch_size": 4, "patience": 1, "seed": 7,
        "init_weights": str(run / "model.weights.h5")}, verbose=0)
    runs = [tmp_path / r / "asr_deepspeech2_causal_synth" for r in ("runs2", "runs3")]
    soup = train_asr("asr_deepspeech2_causal_synth", {
        "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "soup"),
        "average_runs": ",".join(map(str, runs))}, verbose=0)
    weights = []
    for path in [*runs, tmp_path / "soup" / "asr_deepspeech2_causal_synth"]:
        task = build_task(get_preset("asr_deepspeech2_causal_synth"))
        task.load_weights(str(path / "model.weights.h5"))
        weights.append(task.get_weights())
    assert any(not np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))  # two different runs
    for a, b, mean in zip(*weights):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6, atol=1e-7)
    assert soup["updates"] == again["updates"] + third["updates"]
    assert soup["train_minutes"] == pytest.approx(again["train_minutes"] + third["train_minutes"], abs=0.011)
    assert soup["continued_from"] == again["continued_from"]
    assert soup["machine"] == again["machine"]  # where the runs trained, not where they were averaged
    assert [r["run"] for r in soup["averaged_runs"]] == [str(r) for r in runs]
    assert 0.0 <= soup["test_wer_greedy"] <= 10.0 and soup["validation_wer_greedy"] is not None
    card_settings = json.loads((tmp_path / "soup" / "asr_deepspeech2_causal_synth" / "experiment.json").read_text())
    assert [r["seed"] for r in card_settings["average_runs"]] == [0, 7]  # each run's own settings
    # --set average_with_start=true: the start the runs continued is a third ingredient; its cost is in the chain
    with_start = train_asr("asr_deepspeech2_causal_synth", {
        "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "soup_start"),
        "average_runs": ",".join(map(str, runs)), "average_with_start": "true"}, verbose=0)
    task = build_task(get_preset("asr_deepspeech2_causal_synth"))
    task.load_weights(str(run / "model.weights.h5"))
    start_weights = task.get_weights()
    task.load_weights(str(tmp_path / "soup_start" / "asr_deepspeech2_causal_synth" / "model.weights.h5"))
    for a, b, s, mean in zip(weights[0], weights[1], start_weights, task.get_weights()):
        np.testing.assert_allclose(mean, (a + b + s) / 3, rtol=1e-5, atol=1e-6)
    assert with_start["averaged_with_start"] and not soup["averaged_with_start"]
    assert with_start["updates"] == soup["updates"] and with_start["continued_from"] == soup["continued_from"]
    for bad, why in (({"average_runs": str(runs[0])}, "two or more"),
                     ({"average_runs": ",".join(map(str, runs)), "average_with_start": "maybe"}, "bad value"),
                     ({"average_runs": f"{run},{runs[0]}"}, "same weights"),  # run started from scratch
                     ({"average_runs": ",".join(map(str, runs)), "learning_rate": "0.1"}, "no effect"),
                     ({"average_runs": f"{runs[0]},{tmp_path}"}, "not a finished run"),
                     ({"corpus_scale": "tiny", "checkin_utterances": "0"}, "checkin_utterances must be")):
        with pytest.raises(ConfigError, match=why):
            train_asr("asr_deepspeech2_causal_synth", {"data_root": str(tmp_path / "data"),
                                                       "output_dir": str(tmp_path / "bad"), **bad}, verbose=0)
    (run / "model.weights.h5").write_bytes((runs[0] / "model.weights.h5").read_bytes())  # the start changed since
    with pytest.raises(ConfigError, match="the runs' start file, unchanged"):
        train_asr("asr_deepspeech2_causal_synth", {
            "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "bad"),
            "average_runs": ",".join(map(str, runs)), "average_with_start": "true"}, verbose=0)


def test_soup_start_merges_what_its_runs_know_of_one_file_and_refuses_disagreement():
    import pytest

    from training.asr_train import _shared_start
    from zoo.errors import ConfigError

    # the first run started before the hub kept earlier weights, so its lookup of the copy's chain failed
    known = {"weights": "runs/start.weights.h5", "train_minutes": 418.12, "updates": 49200, "test_wer_greedy": 0.1161}
    lost = {"weights": "runs/start.weights.h5", "train_minutes": None, "updates": None, "test_wer_greedy": None}
    assert _shared_start([lost, known]) == known
    with pytest.raises(ConfigError, match="disagree on their start's updates"):
        _shared_start([known, {**known, "updates": 100}])
    with pytest.raises(ConfigError, match="same weights"):
        _shared_start([known, {**known, "weights": "runs/other.weights.h5"}])
    # runs record their start's sha256 (older runs did not): a file changed under the same name is refused
    assert _shared_start([known, {**lost, "sha256": "ab" * 32}]) == {**known, "sha256": "ab" * 32}
    with pytest.raises(ConfigError, match="disagree on their start's sha256"):
        _shared_start([{**known, "sha256": "ab" * 32}, {**known, "sha256": "cd" * 32}])


def test_wer_by_group_pools_espeak_variants_by_dialect():
    from training.asr_train import voice_group, wer_by_group

    rows = [{"speaker": "espeak-ng:en-029+m1"}, {"speaker": "espeak-ng:en-029+f2"}, {"speaker": "flite:slt"}]
    assert [voice_group(r) for r in rows] == ["espeak-ng:en-029", "espeak-ng:en-029", "flite:slt"]
    groups = wer_by_group(rows, ["turn it on", "play music", "stop"], ["turn it on", "play muse", "top"])
    assert list(groups) == ["espeak-ng:en-029", "flite:slt"]  # largest group first
    assert groups["espeak-ng:en-029"] == {"utterances": 2, "wer": 0.2}  # 1 error in 5 reference words
    assert groups["flite:slt"] == {"utterances": 1, "wer": 1.0}


def test_a_limited_split_is_spread_over_its_voices(tmp_path):
    from training.asr_train import split_rows

    # The manifest groups rows by voice; a check-in subset must not be the first voice only.
    rows = [{"path": f"{v}/{i}.wav", "text": "stop", "split": "validation", "speaker": v}
            for v in ("espeak-ng:en+m1", "espeak-ng:en+f2", "flite:kal16") for i in range(10)]
    rows.append({"path": "t.wav", "text": "go", "split": "test", "speaker": "flite:slt"})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    picked = split_rows(manifest, "validation", 6)
    assert [r["path"] for r in picked] == ["espeak-ng:en+m1/0.wav", "espeak-ng:en+m1/6.wav", "espeak-ng:en+f2/2.wav",
                                           "espeak-ng:en+f2/7.wav", "flite:kal16/3.wav", "flite:kal16/9.wav"]
    assert len(split_rows(manifest, "validation")) == len(split_rows(manifest, "validation", 100)) == 30


def test_the_auxiliary_ctc_term_joins_the_rnnt_loss_and_is_not_saved():
    import numpy as np
    import pytest
    import tensorflow as tf

    from training.asr_train import _trainer
    from zoo.errors import ConfigError
    from zoo.losses.ctc_loss import masked_ctc_loss
    from zoo.presets import build_task, get_preset

    task = build_task(get_preset("asr_rnnt_small_synth"))
    rng = np.random.default_rng(0)
    bins = int(task.frontend.num_mel_bins)
    inputs = {"features": tf.constant(rng.normal(size=(2, 48, bins)), tf.float32),
              "feature_frames": tf.constant([48, 40]), "labels": tf.constant([[5, 6, 7], [8, 9, 0]]),
              "label_length": tf.constant([3, 2])}
    plain = _trainer(task)(inputs).numpy()
    np.testing.assert_allclose(plain, task.sequence_loss(inputs["features"], inputs["feature_frames"],
                                                         inputs["labels"], inputs["label_length"]).numpy(), rtol=1e-5)
    trainer = _trainer(task, 0.3)
    with tf.GradientTape() as tape:
        joint = trainer(inputs)
        encoded, length = task.encode(inputs["features"], inputs["feature_frames"])
        ctc = masked_ctc_loss(inputs["labels"], trainer.aux_ctc(encoded), inputs["label_length"], length)
    np.testing.assert_allclose(joint.numpy(), 0.7 * plain + 0.3 * ctc.numpy(), rtol=1e-5)
    assert np.all(ctc.numpy() > 0)
    # the CTC term trains the encoder, and its output layer lives in the trainer, not in the saved Task
    encoder_kernel = task.backbone.trainable_weights[0]
    assert np.any(tape.gradient(ctc, encoder_kernel).numpy() != 0)
    assert len(trainer.trainable_weights) == len(task.trainable_weights) + 2
    assert not any("aux_ctc" in w.path for w in task.weights)
    with pytest.raises(ConfigError, match="aux_ctc_weight must be in"):
        _trainer(task, 1.0)
    with pytest.raises(ConfigError, match="trained with CTC already"):
        _trainer(build_task(get_preset("asr_deepspeech2_causal_synth")), 0.3)


def test_engine_balance_repeats_the_rarer_engines(tmp_path):
    import numpy as np
    import pytest
    import soundfile as sf

    from training.asr_train import engine_repeats, make_asr_dataset
    from zoo.errors import ConfigError
    from zoo.presets import build_task, get_preset

    rows = [{"engine": "espeak-ng"}] * 16 + [{"engine": "flite"}] * 4 + [{"engine": "piper"}]
    assert engine_repeats(rows, 0.0) == [1] * 21
    assert engine_repeats(rows, 0.5) == [1] * 16 + [2] * 4 + [4]  # sqrt(16 / 4), sqrt(16 / 1)
    assert engine_repeats(rows, 1.0) == [1] * 16 + [4] * 4 + [16]  # every engine 16 times per pass
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ConfigError, match="engine_balance must be in"):
            engine_repeats(rows, bad)

    # In the pipeline a repeated row keeps its index: one pass holds each espeak-ng row once, each flite row 4x.
    manifest_rows = []
    for i, engine in enumerate(["espeak-ng"] * 4 + ["flite"]):
        sf.write(tmp_path / f"{i}.wav", np.zeros(8000, np.float32), 16000, subtype="PCM_16")
        manifest_rows.append({"path": f"{i}.wav", "text": "stop", "split": "train", "engine": engine})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in manifest_rows))
    task = build_task(get_preset("asr_rnnt_small_synth"))
    ds = make_asr_dataset(task, manifest, "train", batch_size=3, engine_balance=1.0)
    seen = sorted(int(i) for batch in ds for i in batch["index"].numpy())
    assert seen == [0, 1, 2, 3, 4, 4, 4, 4]


def test_command_repeats_repeat_grammar_commands_not_free_text(tmp_path):
    import numpy as np
    import pytest
    import soundfile as sf

    from training.asr_train import kind_repeats, make_asr_dataset, sentence_kind
    from zoo.errors import ConfigError
    from zoo.presets import build_task, get_preset

    texts = ["turn on the kitchen lights", "group important remember day saw half", "set a timer for ten minutes"]
    assert [sentence_kind({"text": t}) for t in texts] == ["commands", "free text", "commands"]
    rows = [{"text": t} for t in texts]
    assert kind_repeats(rows, 1) == [1, 1, 1]
    assert kind_repeats(rows, 3) == [3, 1, 3]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="command_repeats must be"):
            kind_repeats(rows, bad)

    # With engine balance too, the repeats multiply: the one flite command is heard 2 x 2 times per pass.
    manifest_rows = []
    for i, (engine, text) in enumerate([("espeak-ng", texts[0]), ("espeak-ng", texts[1]), ("flite", texts[2])]):
        sf.write(tmp_path / f"{i}.wav", np.zeros(8000, np.float32), 16000, subtype="PCM_16")
        manifest_rows.append({"path": f"{i}.wav", "text": text, "split": "train", "engine": engine})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in manifest_rows))
    task = build_task(get_preset("asr_rnnt_small_synth"))
    ds = make_asr_dataset(task, manifest, "train", batch_size=3, command_repeats=2)
    assert sorted(int(i) for batch in ds for i in batch["index"].numpy()) == [0, 0, 1, 2, 2]
    ds = make_asr_dataset(task, manifest, "train", batch_size=3, command_repeats=2, engine_balance=1.0)
    assert sorted(int(i) for batch in ds for i in batch["index"].numpy()) == [0, 0, 1, 2, 2, 2, 2]


def test_prediction_dropout_reaches_the_rnnt_preset_only():
    import numpy as np
    import pytest
    import tensorflow as tf

    from training.asr_train import _decoder_override
    from zoo.errors import ConfigError
    from zoo.presets import build_task, get_preset

    preset = get_preset("asr_rnnt_small_synth")
    assert _decoder_override(preset, 0.0) == {}
    task = build_task(preset, **_decoder_override(preset, 0.5))
    assert task.decoder.prediction_dropout == 0.5
    assert task.get_config()["decoder"]["config"]["prediction_dropout"] == 0.5
    plain = build_task(preset)
    plain.set_weights(task.get_weights())  # no weights depend on the dropout
    # The decoder's loss on fixed encoder frames: only the prediction dropout can make training differ.
    rng = np.random.default_rng(0)
    encoded = tf.constant(rng.normal(size=(2, 12, int(task.backbone.output_shape[-1]))), tf.float32)
    args = (encoded, tf.constant([12, 10]), tf.constant([[5, 6, 7], [8, 9, 0]]), tf.constant([3, 2]))
    reference = plain.decoder.loss(*args).numpy()
    np.testing.assert_allclose(plain.decoder.loss(*args, training=True).numpy(), reference, rtol=1e-6)
    np.testing.assert_allclose(task.decoder.loss(*args).numpy(), reference, rtol=1e-6)
    dropped = task.decoder.loss(*args, training=True).numpy()
    assert np.all(np.isfinite(dropped)) and not np.allclose(dropped, reference, rtol=1e-5)
    with pytest.raises(ConfigError, match="has no prediction network"):
        _decoder_override(get_preset("asr_las_small_synth"), 0.2)


def test_init_encoder_loads_the_encoder_of_another_vocabulary(tmp_path):
    """A word-piece RNN-T starts its encoder from a character RNN-T's weights; its decoder (another
    vocabulary) stays fresh; a file whose encoder differs is refused."""
    import numpy as np
    import pytest

    from training.asr_train import load_encoder_weights
    from zoo.errors import CheckpointError
    from zoo.presets import build_task, get_preset

    chars = build_task(get_preset("asr_rnnt_small_synth"))
    path = tmp_path / "chars.weights.h5"
    chars.save_weights(str(path))
    words = build_task(get_preset("asr_rnnt_words_synth"))
    decoder_before = [v.numpy().copy() for v in words.decoder.weights]
    load_encoder_weights(words, path)
    for a, b in zip(chars.backbone.weights, words.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert words.decoder.vocabulary_size != chars.decoder.vocabulary_size
    for before, v in zip(decoder_before, words.decoder.weights):
        np.testing.assert_array_equal(before, v.numpy())
    other = build_task(get_preset("asr_deepspeech2_small_synth"))
    other.save_weights(str(tmp_path / "ds2.weights.h5"))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_encoder_weights(words, tmp_path / "ds2.weights.h5")
    with pytest.raises(CheckpointError, match="missing"):
        load_encoder_weights(words, tmp_path / "nope.weights.h5")


def test_wer_by_sentence_kind_separates_free_text_from_commands():
    from training.asr_train import sentence_kind, wer_by_group

    rows = [{"text": "Open the window."}, {"text": "near first once low"}, {"text": "call mom at seven"}]
    assert [sentence_kind(r) for r in rows] == ["commands", "free text", "commands"]
    kinds = wer_by_group(rows, ["open the window", "near first once low", "call mom at seven"],
                         ["open the window", "near fast once", "call mom at seven"], key=sentence_kind)
    assert kinds == {"commands": {"utterances": 2, "wer": 0.0}, "free text": {"utterances": 1, "wer": 0.5}}
