"""`zoo predict PRESET FILE... --json` for a sequence preset: one {"file", "text"} object per file, the
text of in-process greedy decoding (or of the beam, kept to a lexicon with --lexicon); `zoo eval --lexicon train` scores a beam kept to the training words;
`zoo list` and `zoo info` know the ASR presets."""

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

PRESET = "asr_cldnn_ctc_small_synth"


def zoo(*args, **env_vars):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **env_vars)
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, timeout=300)


def test_predict_json_prints_transcripts(tmp_path):
    import keras

    from zoo.presets import build_task, get_preset

    keras.utils.set_random_seed(0)
    task = build_task(get_preset(PRESET))
    weights = tmp_path / "model.weights.h5"
    task.save_weights(weights)
    rng = np.random.default_rng(0)
    waves = [(0.3 * rng.standard_normal(n)).astype(np.float32) for n in (12000, 24000)]
    paths = []
    for i, w in enumerate(waves):
        paths.append(tmp_path / f"utt{i}.wav")
        sf.write(paths[-1], w, 16000, subtype="PCM_16")
    out = zoo("predict", PRESET, *map(str, paths), "--json", "--weights", str(weights))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(p) for p in paths]
    for r, p in zip(rows, paths):
        assert set(r) == {"file", "text"}
        wave, _ = sf.read(p, dtype="float32")  # the 16-bit samples the CLI reads
        assert r["text"] == task.predict_waveform(wave)["text"]

    # --beam-width with --lexicon: the in-process beam kept to the same words.
    words = ["a", "an", "on", "no", "i", "it", "to"]
    (tmp_path / "words.txt").write_text("\n".join(words) + "\n")
    out = zoo("predict", PRESET, *map(str, paths), "--json", "--weights", str(weights), "--beam-width", "4",
              "--lexicon", str(tmp_path / "words.txt"))
    assert out.returncode == 0, out.stderr
    for line, p in zip(out.stdout.splitlines(), paths):
        wave, _ = sf.read(p, dtype="float32")
        kept = task.predict_waveform(wave, beam_width=4, lexicon=words)["text"]
        assert json.loads(line)["text"] == kept and set(kept.split()) <= set(words)
    refused = zoo("predict", PRESET, str(paths[0]), "--weights", str(weights), "--lexicon", str(tmp_path / "words.txt"))
    assert refused.returncode == 2 and "give --beam-width 8 too" in refused.stderr


def test_list_and_info_know_asr_presets():
    out = zoo("list", "--task", "recognition", "--json")
    names = {json.loads(line)["name"] for line in out.stdout.splitlines()}
    assert {"asr_cldnn_ctc_small_synth", "asr_deepspeech2_small_synth", "asr_deepspeech2_causal_synth",
            "asr_las_small_synth", "asr_rnnt_small_synth"} <= names
    card = json.loads(zoo("info", PRESET, "--json").stdout)
    assert card["task_class"] == "SpeechRecognizer" and card["data"]["corpus"] == "speech-sentences-synth"


def test_eval_with_the_training_words_as_lexicon(tmp_path):
    """The published RNN-T on the tiny corpus: the beam kept to the words of the tiny train split (a few
    dozen) writes only those words, next to the plain beam, in the summary line and the report."""
    from training.asr_train import split_rows

    data = tmp_path / "data"
    made = zoo("data", "make", "speech-sentences-synth", "--scale", "tiny", "--root", str(data), "--quiet")
    assert made.returncode == 0, made.stderr
    manifest = data / "speech-sentences-synth" / "manifest.jsonl"
    words = {w for row in split_rows(manifest, "train") for w in row["text"].lower().split()}
    out = zoo("eval", "asr_rnnt_small_synth", "--data-root", str(data), "--scale", "tiny", "--lexicon", "train",
              "--output-dir", str(tmp_path / "runs"), ZOO_HOME=str(tmp_path / "home"))
    assert out.returncode == 0, out.stderr
    assert f"beam + lexicon ({len(words)} words)" in out.stdout, out.stdout
    report = (tmp_path / "runs" / "asr_rnnt_small_synth" / "report_test.md").read_text()
    assert "| wer_beam_lexicon |" in report and "| lexicon_words | " in report
    examples = [line for line in report.splitlines() if line.startswith("- `")]
    assert len(examples) == len(split_rows(manifest, "test"))
    for line in examples:
        kept = line.split(" / ")[-1].strip("`")
        assert set(kept.split()) <= words, line
    missing = zoo("eval", "asr_rnnt_small_synth", "--data-root", str(tmp_path / "none"), "--lexicon",
                  str(tmp_path / "missing.txt"), ZOO_HOME=str(tmp_path / "home"))
    assert missing.returncode == 2 and "lexicon file not found" in missing.stderr
    assert not (tmp_path / "none").exists()  # refused before generating a corpus
    refused = zoo("eval", "kws_dnn_small_synth", "--data-root", str(data), "--lexicon", "train")
    assert refused.returncode == 2 and "--lexicon needs a speech-to-text preset" in refused.stderr
