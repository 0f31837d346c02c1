"""SpeechRecognizer: signature, frame arithmetic, in-graph greedy decoding and text, config and
save/load round trips, SavedModel recognize endpoint, and a tiny overfit per ASR family."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.families.recognition.cldnn_ctc.cldnn_ctc_backbone import CLDNNCTCBackbone
from zoo.families.recognition.deepspeech2.deepspeech2_backbone import DeepSpeech2Backbone
from zoo.families.recognition.las.las_backbone import LASBackbone
from zoo.families.recognition.las.las_speller import LASSpeller
from zoo.families.recognition.rnnt.rnnt_backbone import RNNTBackbone
from zoo.families.recognition.rnnt.rnnt_decoder import RNNTDecoder
from zoo.frontends import LogMelSpectrogram
from zoo.tasks.speech_recognizer import SpeechRecognizer

RATE = 16000
BINS = 16
TOKENIZER = {"class_name": "CharTokenizer", "config": {"characters": " 'abcdefghijklmnopqrstuvwxyz", "normalize": True}}
VOCAB = 29


def frontend():
    return LogMelSpectrogram(sample_rate=RATE, frame_length=400, frame_step=160, fft_length=512,
                             num_mel_bins=BINS, fmin=20.0, fmax=7600.0)


def tiny(family, causal=False):
    if family == "cldnn_ctc":
        return SpeechRecognizer(CLDNNCTCBackbone(BINS, conv_filters=4, conv_kernel_size=[3, 3], time_stride=2,
                                                 freq_pool=2, projection_units=16, lstm_units=24,
                                                 num_lstm_layers=1, bidirectional=True, dnn_units=32, dropout=0.0),
                                frontend(), TOKENIZER, RATE, name="tiny_cldnn")
    if family == "deepspeech2":
        return SpeechRecognizer(DeepSpeech2Backbone(BINS, conv_filters=[4], conv_kernel_sizes=[[3, 3]],
                                                    conv_strides=[[2, 2]], rnn_units=24, num_rnn_layers=1,
                                                    causal=causal, dropout=0.0),
                                frontend(), TOKENIZER, RATE, name="tiny_ds2")
    if family == "rnnt":
        return SpeechRecognizer(RNNTBackbone(BINS, conv_filters=[4, 4], conv_kernel_sizes=[[3, 3], [3, 3]],
                                             conv_strides=[[2, 2], [2, 1]], rnn_units=24, num_rnn_layers=1,
                                             dropout=0.0),
                                frontend(), TOKENIZER, RATE,
                                decoder=RNNTDecoder(VOCAB, embedding_dim=8, prediction_units=24, joint_units=24),
                                name="tiny_rnnt")
    # "las_ctc": the same LAS trained on the joint CTC-attention loss
    return SpeechRecognizer(LASBackbone(BINS, conv_filters=4, conv_kernel_size=[3, 3], conv_stride=2, lstm_units=16,
                                        num_pyramid_layers=1, dropout=0.0),
                            frontend(), TOKENIZER, RATE,
                            decoder=LASSpeller(VOCAB, embedding_dim=8, decoder_units=32, attention_units=16,
                                               location_filters=4, location_kernel_size=5, label_smoothing=0.0,
                                               ctc_weight=0.3 if family == "las_ctc" else 0.0),
                            max_output_length=20, name="tiny_las")


FAMILIES = ["cldnn_ctc", "deepspeech2", "rnnt", "las", "las_ctc"]


def waves(n=2, seconds=0.6, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, int(RATE * seconds))).astype(np.float32)


def test_signature_names_and_dtypes():
    task = tiny("deepspeech2")
    sig = task.signature()
    assert sig.endpoint == "recognize" and sig.kind == "sequence"
    assert sig.input_names() == ["waveform", "waveform_length"]
    assert sig.output_names() == ["token_ids", "token_length", "text"]
    assert [t.dtype for t in sig.outputs] == ["int32", "int32", "string"]
    out = task.recognize(tf.constant(waves()), tf.constant([9600, 4000]))
    assert sorted(out) == ["text", "token_ids", "token_length"]
    assert out["token_ids"].dtype == tf.int32 and out["text"].dtype == tf.string
    assert out["token_ids"].shape[0] == 2 and out["token_length"].shape == (2,)


@pytest.mark.parametrize("family", FAMILIES)
def test_logit_length_matches_frames(family):
    task = tiny(family)
    stride = task.backbone.time_stride
    for n in (400, 401, 4000, 9600):
        out = task({"waveform": waves(1, n / RATE), "waveform_length": np.array([n], np.int32)})
        frames = 1 + (n - 400) // 160
        assert int(out["logit_length"][0]) == -(-frames // stride) == out["logits"].shape[1]


def numpy_ctc_greedy(logits, length):
    best = logits[:length].argmax(-1)
    out, prev = [], -1
    for t in best:
        if t != prev and t != 0:
            out.append(int(t))
        prev = t
    return out


def test_in_graph_greedy_equals_numpy_greedy():
    task = tiny("cldnn_ctc")
    w = waves(3, 1.0, seed=1)
    lengths = np.array([16000, 12000, 5000], np.int32)
    out = task({"waveform": w, "waveform_length": lengths})
    rec = task.recognize(tf.constant(w), tf.constant(lengths))
    symbols = task.tokenizer.vocabulary
    for b in range(3):
        ids = numpy_ctc_greedy(np.asarray(out["logits"][b]), int(out["logit_length"][b]))
        n = int(rec["token_length"][b])
        assert rec["token_ids"].numpy()[b, :n].tolist() == ids
        assert rec["text"].numpy()[b].decode() == "".join(symbols[i] for i in ids)


@pytest.mark.parametrize("family", FAMILIES)
def test_config_round_trip_and_save_load(family, tmp_path):
    task = tiny(family)
    config = task.get_config()
    json.dumps(config)  # plain data
    clone = SpeechRecognizer.from_config(config)
    assert clone.get_config() == config
    path = tmp_path / "model.keras"
    task.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, SpeechRecognizer) and loaded.decoder_type == task.decoder_type
    w, lengths = tf.constant(waves()), tf.constant([9600, 6000])
    a, b = task.recognize(w, lengths), loaded.recognize(w, lengths)
    np.testing.assert_array_equal(a["token_ids"].numpy(), b["token_ids"].numpy())
    np.testing.assert_array_equal(a["text"].numpy(), b["text"].numpy())
    assert task.predict_waveform(waves(1)[0])["text"] == loaded.predict_waveform(waves(1)[0])["text"]


def test_bad_tokenizer_and_decoder_vocabulary():
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="tokenizer"):
        SpeechRecognizer(tiny("deepspeech2").backbone, frontend(), {"class_name": "Nope"}, RATE)
    with pytest.raises(ConfigError, match="vocabulary size"):
        SpeechRecognizer(RNNTBackbone(BINS, conv_filters=[4], conv_kernel_sizes=[[3, 3]], conv_strides=[[2, 2]],
                                      rnn_units=8, num_rnn_layers=1), frontend(), TOKENIZER, RATE,
                         decoder=RNNTDecoder(10))


def test_saved_model_recognize_text_equals_in_process(tmp_path):
    from export.saved_model import export_saved_model

    task = tiny("deepspeech2")
    path = export_saved_model(task, tmp_path, model_name="asr")
    served = tf.saved_model.load(str(path))
    assert {"recognize", "serving_default", "recognize_wav"} <= set(served.signatures)
    w = waves(1, 1.2, seed=3)
    out = served.signatures["recognize"](waveform=tf.constant(w), waveform_length=tf.constant([w.shape[1]]))
    assert sorted(out) == ["text", "token_ids", "token_length"]
    assert out["text"].numpy()[0].decode() == task.predict_waveform(w[0])["text"]
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["signatures"]["recognize"]["kind"] == "sequence"


def test_rnnt_prediction_dropout_is_validated_and_serialized():
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="prediction_dropout must be in"):
        RNNTDecoder(VOCAB, prediction_dropout=1.0)
    decoder = RNNTDecoder(VOCAB, prediction_dropout=0.25)
    assert RNNTDecoder.from_config(decoder.get_config()).prediction_dropout == 0.25
    assert RNNTDecoder(VOCAB).get_config()["prediction_dropout"] == 0.0


@pytest.mark.parametrize("family", ["deepspeech2", "rnnt"])
def test_word_piece_text_in_graph_saved_model_and_beam(family, tmp_path):
    """Word pieces write " word" / "rest": the graph's text, the SavedModel's and the beam search's
    are the tokenizer's decode of the ids, words separated by single spaces, no leading space."""
    from export.saved_model import export_saved_model
    from zoo.text import WordPieceTokenizer

    tok = WordPieceTokenizer.from_texts(["set the timer", "set the lights", "timer"], min_count=2)
    spec = {"class_name": "WordPieceTokenizer", "config": tok.get_config()}
    base = tiny(family)
    decoder = None if family == "deepspeech2" else RNNTDecoder(tok.vocabulary_size, embedding_dim=8,
                                                               prediction_units=24, joint_units=24)
    task = SpeechRecognizer(base.backbone, frontend(), spec, RATE, decoder=decoder, name=f"words_{family}")
    output = task.head if decoder is None else decoder.output_layer
    rng = np.random.default_rng(0)  # large random output weights, so that the tokens change from frame to frame
    output.kernel.assign(rng.normal(0, 3, output.kernel.shape).astype(np.float32))
    output.bias.assign(np.eye(1, tok.vocabulary_size, dtype=np.float32)[0] * (-2.0 if decoder is None else 1.0))
    w = waves(2, 1.0, seed=4)
    lengths = np.array([16000, 11000], np.int32)
    rec = task.recognize(tf.constant(w), tf.constant(lengths))
    texts = [t.decode() for t in rec["text"].numpy()]
    for b in range(2):
        ids = rec["token_ids"].numpy()[b, :int(rec["token_length"][b])]
        assert texts[b] == tok.decode(ids) and texts[b] == " ".join(texts[b].split())
    assert any(len(t.split()) >= 2 for t in texts), texts  # words were written, with spaces between them
    served = tf.saved_model.load(str(export_saved_model(task, tmp_path, model_name="asr_words")))
    out = served.signatures["recognize"](waveform=tf.constant(w[:1]), waveform_length=tf.constant(lengths[:1]))
    assert out["text"].numpy()[0].decode() == texts[0]
    full = task({"waveform": w, "waveform_length": lengths})
    for text in task.beam_search(full["logits"], full["logit_length"], beam_width=3):
        assert text == " ".join(text.split())  # no leading space, single spaces between words


def test_lexicon_words_are_normalised_as_the_model_writes_them():
    task = tiny("deepspeech2")
    lexicon = task.lexicon(["Open", "open", "The  Window"])
    assert lexicon.words == {"open", "the", "window"} and task.lexicon(lexicon) is lexicon
    assert task.written_text("Open THE window") == "open the window"
