"""training.asr_train end to end on the tiny sentence corpus: a short budget still checks in, keeps
its best weights, evaluates greedy and beam WER on the test split and writes summary.json."""

import json


def test_tiny_asr_recipe_runs_and_reports_wer(tmp_path):
    from training.asr_train import train_asr

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
    assert summary["test_wer_greedy"] == written["test_wer_greedy"]
    groups = written["test_wer_greedy_by_group"]  # every test utterance in exactly one voice group
    assert sum(g["utterances"] for g in groups.values()) == written["test_utterances"]

    # `zoo train PRESET --set init_weights=PATH` continues from a run and records what it continued.
    again = train_asr("asr_deepspeech2_causal_synth", {
        "corpus_scale": "tiny", "data_root": str(tmp_path / "data"), "output_dir": str(tmp_path / "runs2"),
        "time_budget_min": 0.05, "batch_size": 4, "patience": 1, "init_weights": str(run / "model.weights.h5")},
        verbose=0)
    assert again["continued_from"] == {"weights": str(run / "model.weights.h5"),
                                       "train_minutes": written["train_minutes"], "updates": written["updates"],
                                       "test_wer_greedy": written["test_wer_greedy"]}


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
