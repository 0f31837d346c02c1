"""LibriSpeech loader on a tiny fixture in the data set's folder layout (FLAC written by soundfile)."""

import numpy as np
import pytest
import soundfile as sf

from training.corpora import librispeech
from training.corpora.speech_sentences_synth import SENTENCE_KEYS
from training.manifest import read_manifest
from zoo.errors import DataError

FIXTURE = {  # subset -> speaker -> chapter -> {utterance: transcript}
    "dev-clean": {"84": {"121123": {"0000": "GO DO YOU HEAR", "0001": "BUT IN LESS THAN FIVE MINUTES THE STAIRCASE"}}},
    "test-other": {"1688": {"142285": {"0000": "THERE'S IRON THEY SAY IN ALL OUR BLOOD"}}},
    "train-clean-100": {"19": {"198": {"0000": "NORTHANGER ABBEY", "0001": "CATHERINE MORLAND'S HOUSE"},
                               "227": {"0002": "CHAPTER ONE"}}},
}


def _write_fixture(root, fixture=FIXTURE):
    rng = np.random.default_rng(0)
    lengths = {}
    for subset, speakers in fixture.items():
        for speaker, chapters in speakers.items():
            for chapter, utterances in chapters.items():
                folder = root / subset / speaker / chapter
                folder.mkdir(parents=True)
                lines = []
                for utt, text in utterances.items():
                    n = int(rng.integers(8000, 24000))
                    sf.write(folder / f"{speaker}-{chapter}-{utt}.flac", rng.uniform(-0.3, 0.3, n), 16000,
                             subtype="PCM_16")
                    lengths[f"{speaker}-{chapter}-{utt}"] = n
                    lines.append(f"{speaker}-{chapter}-{utt} {text}\n")
                (folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
    return lengths


def test_rows_in_the_sentence_schema(tmp_path):
    root = tmp_path / "LibriSpeech"
    lengths = _write_fixture(root)
    out = librispeech.librispeech_manifest(root, tmp_path / "manifests" / "librispeech.jsonl")
    rows = read_manifest(out, required=SENTENCE_KEYS)
    assert len(rows) == 6 and [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    by_utt = {r["utterance"]: r for r in rows}
    r = by_utt["1688-142285-0000"]
    assert r["text"] == "there's iron they say in all our blood"
    assert (r["split"], r["speaker"], r["engine"], r["subset"], r["chapter"]) == (
        "test", "1688", "recorded", "test-other", "142285")
    assert r["words"] is None and r["phonemes"] is None and r["timings"] is None and r["seed"] is None
    assert {u: rr["split"] for u, rr in by_utt.items()} == {
        "84-121123-0000": "validation", "84-121123-0001": "validation", "1688-142285-0000": "test",
        "19-198-0000": "train", "19-198-0001": "train", "19-227-0002": "train"}
    assert by_utt["19-198-0001"]["text"] == "catherine morland's house"
    for utt, row in by_utt.items():
        assert row["sample_rate"] == 16000 and row["duration"] == pytest.approx(lengths[utt] / 16000, abs=1e-6)
        x, sr = sf.read(out.parent / row["path"])  # paths are relative to the manifest's folder
        assert sr == 16000 and len(x) == lengths[utt]
    dev = librispeech.librispeech_rows(root, subsets="dev-clean")
    assert {r["utterance"] for r in dev} == {"84-121123-0000", "84-121123-0001"}
    assert dev[0]["path"].startswith("dev-clean/84/121123/")


def test_missing_files_are_named(tmp_path):
    root = tmp_path / "LibriSpeech"
    _write_fixture(root)
    transcript = root / "train-clean-100" / "19" / "198" / "19-198.trans.txt"
    text = transcript.read_text()
    transcript.write_text(text + "19-198-0009 A LINE WITHOUT AUDIO\n")
    with pytest.raises(DataError, match=r"missing audio train-clean-100/19/198/19-198-0009\.flac"):
        librispeech.librispeech_rows(root)
    transcript.write_text(text.splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"no transcript for train-clean-100/19/198/19-198-0001\.flac"):
        librispeech.librispeech_rows(root)
    transcript.unlink()
    with pytest.raises(DataError, match=r"missing transcript train-clean-100/19/198/19-198\.trans\.txt"):
        librispeech.librispeech_rows(root)
    with pytest.raises(DataError, match="subsets not found"):
        librispeech.librispeech_rows(root, subsets=["dev-other"])
    with pytest.raises(DataError, match="folder not found"):
        librispeech.librispeech_rows(tmp_path / "nowhere")
    (root / "extra-stuff").mkdir()
    with pytest.raises(DataError, match="unknown LibriSpeech subset"):
        librispeech.librispeech_rows(root, subsets=["extra-stuff"])
    bad = root / "dev-clean" / "84" / "121123" / "84-121123-0000.flac"
    bad.write_bytes(b"not a flac file")
    with pytest.raises(DataError, match=r"unreadable audio file dev-clean/84/121123/84-121123-0000\.flac"):
        librispeech.librispeech_rows(root, subsets=["dev-clean"])
