"""`zoo train PRESET` for sequence recognisers (SpeechRecognizer): CTC, RNN-T or teacher-forced
attention, on a transcribed manifest (speech-sentences-synth), split by voice.

tf.data: manifest rows (rarer TTS engines repeated with engine_balance > 0, grammar commands with
command_repeats > 1) -> decode WAV -> (waveform, token ids) -> shuffle -> length buckets -> padded
batches -> per batch: noise at a random SNR (train) -> the preset's log-mel frontend -> VTLP frequency
warp and tempo change (train; training.augment.perturb_features) -> a random smooth spectral EQ (train,
when spectral_eq_db > 0) -> SpecAugment (train). Features are computed in tf.data (an in-model STFT
halves CPU training speed, DESIGN.md section 5); the Task, frontend included, is what gets saved. With
aux_ctc_weight > 0 an attention or RNN-T model also trains a CTC output on its encoder (training only,
not saved); prediction_dropout drops parts of an RNN-T's prediction network while training; init_encoder
starts the encoder from another recogniser's weights (e.g. a character model's, for a word-piece model).
The learning rate follows a cosine over the time budget (so a run always anneals, whatever the machine's
speed); the best epoch by validation greedy WER is kept, with early stopping on it.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, DataError

BUCKET_SECONDS = (1.75, 2.25, 2.75, 3.25, 3.75)
BEAM_WIDTH = 8
CHECK_STEPS = 120  # updates between validation check-ins
WARMUP_STEPS_MAX = 150
# The Experiment settings this recipe reads (besides experiment.RUN_SETTINGS): no epoch count (the
# time budget anneals the rate), no reverberation, no resume; VTLP and tempo perturbation instead.
ASR_SETTINGS = frozenset({
    "batch_size", "learning_rate", "weight_decay", "warmup_epochs", "dropout", "patience", "time_budget_min",
    "augment", "noise_prob", "spec_augment", "snr_min_db", "time_mask_param", "freq_mask_param", "freq_warp",
    "tempo_perturb", "spectral_eq_db", "aux_ctc_weight", "prediction_dropout", "engine_balance",
    "command_repeats", "checkin_utterances"})


def split_rows(manifest_path, split, limit=None):
    """The split's manifest rows in manifest order; with `limit`, that many rows evenly spaced over the
    split (the manifest groups rows by voice, so its first rows would be a few voices only)."""
    from training.manifest import read_manifest

    rows = [r for r in read_manifest(manifest_path, required=("path", "text", "split")) if r["split"] == split]
    if not rows:
        raise DataError(f"no rows of split {split!r} in the manifest", received=os.fspath(manifest_path),
                        expected=f"rows with split={split!r}", fix="check the manifest or regenerate the corpus")
    if limit is not None and limit < len(rows):
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, max(int(limit), 0)).round().astype(int)]
    return rows


def engine_repeats(rows, exponent):
    """How many times each row is used per pass so that rarer TTS engines are heard more often: an
    engine with n rows gets round((n_max / n) ** exponent) (at least 1). exponent 0 keeps the corpus as
    it is; 1 makes every engine about equally frequent. Training rows are 80% espeak-ng, and the
    held-out voices other than espeak-ng's (flite slt, kal16) are where the recognisers do worst."""
    from collections import Counter

    if isinstance(exponent, bool) or not isinstance(exponent, (int, float)) or not 0.0 <= exponent <= 1.0:
        raise ConfigError("engine_balance must be in [0, 1]", received=repr(exponent),
                          expected="0 (off) up to 1 (every engine equally often), e.g. 0.5")
    counts = Counter(str(r.get("engine", "?")) for r in rows)
    largest = max(counts.values(), default=0)
    return [max(1, round((largest / counts[str(r.get("engine", "?"))]) ** exponent)) for r in rows]


def kind_repeats(rows, repeats):
    """How many times each row is used per pass when grammar commands are repeated `repeats` times and
    free text once. On `full_free` (9,400 of its 18,584 train sentences are free text; 2,280 of 11,464 in
    `full`) a continuation cut free-text errors but lost about 3 points on commands; 2 makes free text 34%."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError("command_repeats must be a whole number >= 1", received=repr(repeats),
                          expected="1 (the corpus as it is), 2 (each command twice per pass), ...")
    return [1 if sentence_kind(r) == "free text" else repeats for r in rows]


def make_asr_dataset(task, manifest_path, split, *, batch_size, augment=None, shuffle=False, seed=0,
                     repeat=False, limit=None, engine_balance=0.0, command_repeats=1):
    """Batches of {"features" f32[B, F0, bins], "feature_frames" i32[B], "labels" i32[B, U],
    "label_length" i32[B], "index" i64[B]} (index: the row in split_rows order).

    augment: None or a dict {noise_prob, snr_min_db, time_mask_param, freq_mask_param, freq_warp,
    tempo_perturb, spectral_eq_db (optional)} (train only).
    engine_balance: oversampling exponent of the rarer TTS engines (engine_repeats; 0: off).
    command_repeats: passes over each command row per pass over the free text (kind_repeats; 1: off).
    """
    import tensorflow as tf

    from training.augment import perturb_features, spectral_eq

    rows = split_rows(manifest_path, split, limit)
    repeats = np.multiply(engine_repeats(rows, engine_balance), kind_repeats(rows, command_repeats))
    order = np.repeat(np.arange(len(rows), dtype=np.int64), repeats)
    base = os.path.dirname(os.path.abspath(os.fspath(manifest_path)))
    paths = [os.path.join(base, rows[i]["path"]) for i in order]
    ids = [task.tokenizer.encode(rows[i]["text"]) for i in order]
    rate = task.sample_rate
    fl, fs = task.frontend.frame_length, task.frontend.frame_step
    ds = tf.data.Dataset.from_tensor_slices((paths, tf.ragged.constant(ids, dtype=tf.int32), order))
    if shuffle:
        ds = ds.shuffle(len(order), seed=seed, reshuffle_each_iteration=True)

    def decode(path, labels, index):
        audio, _ = tf.audio.decode_wav(tf.io.read_file(path), desired_channels=1)
        wave = audio[:, 0]
        return wave, tf.shape(wave)[0], labels, tf.shape(labels)[0], index

    ds = ds.map(decode, num_parallel_calls=2, deterministic=not shuffle)
    boundaries = [int(s * rate) for s in BUCKET_SECONDS]
    ds = ds.bucket_by_sequence_length(lambda w, n, *_: n, boundaries, [batch_size] * (len(boundaries) + 1),
                                      padded_shapes=([None], [], [None], [], []), drop_remainder=False)
    if repeat:
        ds = ds.repeat()
    def stripes(feats, axis, max_width, count):
        """SpecAugment: `count` random stripes of width U{0..max_width} along `axis`, set to 0 (per row)."""
        size = tf.shape(feats)[axis]
        batch = tf.shape(feats)[0]
        keep = tf.ones([batch, size], tf.bool)
        for _ in range(count):
            width = tf.random.uniform([batch, 1], 0, max_width + 1, tf.int32)
            first = tf.cast(tf.random.uniform([batch, 1]) * tf.cast(tf.maximum(size - width, 1), tf.float32),
                            tf.int32)
            pos = tf.range(size)[None, :]
            keep &= ~((pos >= first) & (pos < first + width))
        keep = keep[:, :, None] if axis == 1 else keep[:, None, :]
        return tf.where(keep, feats, 0.0)

    def features(wave, wave_len, labels, label_len, index):
        if augment is not None:
            valid = tf.cast(tf.range(tf.shape(wave)[1])[None, :] < wave_len[:, None], tf.float32)
            power = tf.reduce_sum(wave ** 2, 1) / tf.cast(tf.maximum(wave_len, 1), tf.float32)
            snr = tf.random.uniform(tf.shape(power), float(augment["snr_min_db"]), 35.0)
            on = tf.random.uniform(tf.shape(power)) < float(augment["noise_prob"])
            scale = tf.where(on, tf.sqrt(power / 10.0 ** (snr / 10.0)), 0.0)
            wave = wave + scale[:, None] * tf.random.normal(tf.shape(wave)) * valid
            wave = wave * tf.random.uniform(tf.shape(power), 0.5, 1.25)[:, None]
            wave = tf.clip_by_value(wave, -1.0, 1.0)
        feats = tf.cast(task.frontend(wave), tf.float32)
        frames = tf.where(wave_len >= fl, 1 + (wave_len - fl) // fs, 0)
        if augment is not None:
            warp, tempo = float(augment.get("freq_warp", 0.0)), float(augment.get("tempo_perturb", 0.0))
            if warp or tempo:
                batch = tf.shape(feats)[:1]
                feats, frames = perturb_features(feats, frames, tf.random.uniform(batch, 1.0 - warp, 1.0 + warp),
                                                 tf.random.uniform(batch, 1.0 - tempo, 1.0 + tempo))
            if augment.get("spectral_eq_db", 0.0):
                coefficients = tf.random.uniform(tf.stack([tf.shape(feats)[0], 3]), -1.0, 1.0)
                feats = spectral_eq(feats, frames, coefficients, augment["spectral_eq_db"])
            if augment["time_mask_param"]:
                feats = stripes(feats, 1, int(augment["time_mask_param"]), 2)
            if augment["freq_mask_param"]:
                feats = stripes(feats, 2, int(augment["freq_mask_param"]), 2)
        return {"features": feats, "feature_frames": frames, "labels": labels, "label_length": label_len,
                "index": index}

    return ds.map(features, num_parallel_calls=2).prefetch(2)


def _trainer(task, aux_ctc_weight=0.0):
    """The Task wrapped for fit(); with aux_ctc_weight w > 0 (a decoder model only) the loss is
    (1 - w) * the model's loss + w * CTC through a training-only softmax layer on the encoder, which
    makes the encoder's frames spell the transcript by themselves (joint CTC/attention, Kim et al.
    2017; CTC/transducer, as in ESPnet). That layer is not part of the Task and is not saved."""
    import keras
    import tensorflow as tf

    from zoo.losses.ctc_loss import masked_ctc_loss

    weight = aux_ctc_weight
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight < 1.0:
        raise ConfigError("aux_ctc_weight must be in [0, 1)", received=repr(weight),
                          expected="0 (off) or the CTC share of the loss, e.g. 0.3")
    if weight and task.decoder is None:
        raise ConfigError(f"aux_ctc_weight is for attention and RNN-T recognisers; {task.name} is trained with CTC "
                          "already", received=weight, fix="leave aux_ctc_weight at 0 for this preset")

    class SequenceTrainer(keras.Model):
        """Wraps the Task for fit(): the forward pass returns the per-utterance loss."""

        def __init__(self, task):
            super().__init__(name=f"{task.name}_trainer")
            self.task = task
            self.aux_ctc = (keras.layers.Dense(task.tokenizer.vocabulary_size, name="aux_ctc_logits")
                            if weight else None)

        def call(self, inputs, training=False):
            labels, label_length = inputs["labels"], inputs["label_length"]
            encoded, length = self.task.encode(inputs["features"], inputs["feature_frames"], training=training)
            loss = self.task.encoded_loss(encoded, length, labels, label_length, training=training)
            if self.aux_ctc is None:
                return loss
            return (1.0 - weight) * loss + weight * masked_ctc_loss(labels, self.aux_ctc(encoded), label_length,
                                                                    length)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            # Per-label normalisation keeps the gradient scale independent of sentence length.
            return tf.reduce_mean(y_pred / tf.cast(tf.maximum(x["label_length"], 1), tf.float32))

    return SequenceTrainer(task)


def _decoder_override(preset, prediction_dropout):
    """build_task overrides that give an RNN-T's prediction network `prediction_dropout` (training only)."""
    if not prediction_dropout:
        return {}
    decoder = preset.task_config.get("decoder") or {}
    if decoder.get("class_name") != "RNNTDecoder":
        raise ConfigError(f"prediction_dropout is for RNN-T recognisers; {preset.name} has no prediction network",
                          received=prediction_dropout, fix="leave prediction_dropout at 0 for this preset")
    return {"decoder": {**decoder, "config": {**decoder["config"], "prediction_dropout": prediction_dropout}}}


def decode_split(task, manifest_path, split, *, beam_width=None, lexicon=None, batch_size=32, limit=None,
                 seconds=None):
    """(references, greedy hypotheses, beam hypotheses or None, beam hypotheses with `lexicon` (words or
    a Lexicon) or None) over a split, in manifest order. A `seconds` dict gets the time each decoding took
    ("greedy": the encoder and the in-graph greedy decoder, "beam", "beam_lexicon")."""
    import tensorflow as tf

    rows = split_rows(manifest_path, split, limit)
    greedy = [""] * len(rows)
    beam = [""] * len(rows) if beam_width else None
    beam_lexicon = [""] * len(rows) if beam_width and lexicon is not None else None
    lexicon = task.lexicon(lexicon) if beam_lexicon is not None else None

    bins = int(task.frontend.num_mel_bins)

    @tf.function(input_signature=[tf.TensorSpec([None, None, bins], tf.float32), tf.TensorSpec([None], tf.int32)])
    def forward(features, frames):
        encoded, length = task.encode(features, frames, training=False)
        token_ids, token_length = task.decode_greedy(encoded, length)
        return encoded, length, task.ids_to_text(token_ids, token_length)

    seconds = {} if seconds is None else seconds
    searches = [(key, hyps, kept) for key, hyps, kept in (("beam", beam, None), ("beam_lexicon", beam_lexicon, lexicon))
                if hyps is not None]
    for batch in make_asr_dataset(task, manifest_path, split, batch_size=batch_size, limit=limit):
        start = time.perf_counter()  # reading and feature extraction count for no decoder
        encoded, length, text = forward(batch["features"], batch["feature_frames"])
        index = batch["index"].numpy()
        for i, t in zip(index, text.numpy()):
            greedy[i] = t.decode("utf-8")
        seconds["greedy"] = seconds.get("greedy", 0.0) + time.perf_counter() - start
        for key, hyps, kept in searches:
            start = time.perf_counter()
            for i, t in zip(index, task.beam_search(encoded.numpy(), length.numpy(), beam_width=beam_width,
                                                    lexicon=kept)):
                hyps[i] = t
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - start
    return [task.written_text(r["text"]) for r in rows], greedy, beam, beam_lexicon


def train_words(task, manifest_path) -> list[str]:
    """The words of the train split's transcripts as the model writes them: a lexicon that knows only
    what training heard (no held-out transcript leaks into it)."""
    return sorted({w for row in split_rows(manifest_path, "train") for w in task.written_text(row["text"]).split()})


def voice_group(row: dict) -> str:
    """What a WER breakdown groups utterances by: an espeak-ng dialect (its variants pooled, e.g.
    'espeak-ng:en-029'), otherwise the speaker itself (a flite, festival or piper voice)."""
    speaker = str(row.get("speaker", "?"))
    return speaker.split("+")[0] if speaker.startswith("espeak-ng:") else speaker


def sentence_kind(row: dict) -> str:
    """"free text" (random common words: no grammar to lean on) or "commands" (the grammar's templates),
    what a WER breakdown by sentence kind groups utterances by."""
    from zoo.text import normalize_text

    return "free text" if _grammar().is_free_text(normalize_text(str(row.get("text", "")))) else "commands"


@functools.cache
def _grammar():
    from zoo.text import SentenceGrammar

    return SentenceGrammar()  # one instance: is_free_text lists the grammar's common-word commands once


def wer_by_group(rows, refs, hyps, key=voice_group) -> dict:
    """{key(row): {"utterances": n, "wer": WER}} over one split (by default the voice group), largest
    groups first."""
    from zoo.metrics.asr import wer

    groups = {}
    for row, ref, hyp in zip(rows, refs, hyps):
        pair = groups.setdefault(key(row), ([], []))
        pair[0].append(ref)
        pair[1].append(hyp)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1][0]), kv[0]))
    return {g: {"utterances": len(r), "wer": round(wer(r, h), 4)} for g, (r, h) in ordered}


def evaluate_asr(task, manifest_path, split="test", *, beam_width=BEAM_WIDTH, lexicon=None, out_dir=None,
                 limit=None) -> dict:
    """WER/CER with in-graph greedy decoding and with the beam search (and, given `lexicon` words, with
    the beam search kept to them: *_beam_lexicon), greedy WER per voice group; writes report_<split>.md."""
    from zoo.metrics.asr import cer, wer

    start = time.perf_counter()
    lexicon = None if lexicon is None else task.lexicon(lexicon)
    refs, greedy, beam, beam_lexicon = decode_split(task, manifest_path, split, beam_width=beam_width,
                                                    lexicon=lexicon, limit=limit)
    metrics = {"split": split, "num_utterances": len(refs), "wer_greedy": wer(refs, greedy),
               "cer_greedy": cer(refs, greedy)}
    if beam is not None:
        metrics.update(wer_beam=wer(refs, beam), cer_beam=cer(refs, beam), beam_width=int(beam_width))
    if beam_lexicon is not None:
        metrics.update(wer_beam_lexicon=wer(refs, beam_lexicon), cer_beam_lexicon=cer(refs, beam_lexicon),
                       lexicon_words=len(lexicon))
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    rows = split_rows(manifest_path, split, limit)
    by_group, by_kind = wer_by_group(rows, refs, greedy), wer_by_group(rows, refs, greedy, key=sentence_kind)
    if out_dir is not None:
        lines = [f"# {task.name} on {split}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
        lines += ["", "## Greedy WER per voice group", "", "| voice group | utterances | WER |", "|---|---|---|"]
        lines += [f"| {g} | {v['utterances']} | {v['wer']:.2%} |" for g, v in by_group.items()]
        lines += ["", "## Greedy WER per sentence kind", "", "| kind | utterances | WER |", "|---|---|---|"]
        lines += [f"| {g} | {v['utterances']} | {v['wer']:.2%} |" for g, v in by_kind.items()]
        columns = [("greedy", greedy), ("beam", beam), ("beam + lexicon", beam_lexicon)]
        columns = [(name, hyps) for name, hyps in columns if hyps is not None]
        lines += ["", f"## First utterances (reference / {' / '.join(name for name, _ in columns)})", ""]
        for i in range(min(15, len(refs))):
            lines.append(" / ".join([f"- `{refs[i]}`"] + [f"`{hyps[i]}`" for _, hyps in columns]))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        Path(out_dir, f"report_{split}.md").write_text("\n".join(lines) + "\n")
    metrics["wer_greedy_by_group"], metrics["wer_greedy_by_kind"] = by_group, by_kind
    return metrics


def load_encoder_weights(task, weights_path: Path) -> None:
    """Start `task`'s encoder (backbone) from another recogniser's weights file, e.g. a character model's
    for a word-piece model: the parts whose shapes match load, and every encoder variable must be among
    them (the decoder or CTC head, sized for another vocabulary, keeps its fresh initialisation)."""
    import warnings

    from zoo.errors import CheckpointError

    if not Path(weights_path).is_file():
        raise CheckpointError(f"init_encoder weights file missing: {weights_path}",
                              fix="pass a recogniser's model.weights.h5, e.g. hub/asr_rnnt_small_synth/model.weights.h5")
    for v in task.backbone.weights:  # NaN marks what the file did not fill
        v.assign(np.full(v.shape, np.nan, v.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about each decoder part it skips
        task.load_weights(str(weights_path), skip_mismatch=True)
    unchanged = [v.path for v in task.backbone.weights if np.isnan(v.numpy()).any()]
    if unchanged:
        raise CheckpointError(f"the encoder in {Path(weights_path).name} does not fit {task.name}'s encoder",
                              received=unchanged[:5], expected="every backbone variable loaded",
                              fix="use the weights of a recogniser with the same backbone config")


def average_asr_runs(preset_name: str, runs, overrides: dict | None = None) -> dict:
    """`zoo train PRESET --set average_runs=RUN,RUN...`: a uniform model soup of finished runs of
    PRESET that continued the same weights (settings tried side by side): their weights averaged
    (training.recipe.average_weights), then evaluated and summarised like a trained run, with their
    summed cost (so tables count every ingredient). `--set average_with_start=true` adds the weights the
    runs continued as one more ingredient (a WiSE-FT-style pull back toward the start; its cost is already
    in the chain). Writes runs/PRESET/ under output_dir, as training would; only data_root, output_dir,
    corpus_scale and average_with_start may be set beside it (nothing trains)."""
    from training.corpora.registry import make_corpus
    from training.experiment import coerce_setting
    from training.recipe import PLACE_SETTINGS, average_weights
    from zoo.presets import WEIGHTS_FILE, build_task, get_preset

    overrides = dict(overrides or {})
    ignored = sorted(set(overrides) - {"data_root", "output_dir", "corpus_scale", "average_with_start"})
    if ignored:
        raise ConfigError("average_runs trains nothing, so these settings would have no effect", received=ignored,
                          expected="only data_root, output_dir, corpus_scale and average_with_start beside "
                                   "average_runs",
                          fix="set them on the runs being averaged")
    dirs = [Path(r.strip()) for r in (runs.split(",") if isinstance(runs, str) else runs) if str(r).strip()]
    if len(dirs) < 2:
        raise ConfigError("average_runs needs two or more run folders", received=runs,
                          expected="RUN,RUN[,...]: folders holding summary.json and model.weights.h5",
                          fix=f"e.g. --set average_runs=runs/a/{preset_name},runs/b/{preset_name}")
    summaries, settings = [], []
    for run in dirs:
        if not (run / "summary.json").is_file() or not (run / WEIGHTS_FILE).is_file():
            raise ConfigError(f"{run} is not a finished run", received=sorted(p.name for p in run.glob("*")),
                              expected=f"summary.json and {WEIGHTS_FILE}",
                              fix=f"give the folder runs/X/{preset_name} of `zoo train {preset_name} --output-dir "
                                  "runs/X`, once it has finished")
        summaries.append(json.loads((run / "summary.json").read_text()))
        experiment = run / "experiment.json"
        settings.append(json.loads(experiment.read_text()) if experiment.is_file() else {})
        if summaries[-1].get("preset") != preset_name:
            raise ConfigError(f"{run} is a run of another preset", received=summaries[-1].get("preset"),
                              expected=preset_name, fix="average runs of the preset being trained")
    start = _shared_start([s.get("continued_from") for s in summaries])
    ingredients = [run / WEIGHTS_FILE for run in dirs]
    with_start = coerce_setting("average_with_start", overrides.get("average_with_start", False), bool)
    if with_start:
        ingredients.insert(0, _verified_start(start))
    preset = get_preset(preset_name)
    run_dir = Path(overrides.get("output_dir", "runs")) / preset_name
    run_dir.mkdir(parents=True, exist_ok=True)
    data_root = Path(overrides.get("data_root", settings[0].get("data_root", "data")))
    scale = overrides.get("corpus_scale", settings[0].get("corpus_scale", "full"))
    manifest = make_corpus(preset.data["corpus"], data_root, seed=0, scale=scale)
    (run_dir / "experiment.json").write_text(json.dumps({
        "preset": preset_name, "data_root": str(data_root), "output_dir": str(run_dir.parent), "corpus_scale": scale,
        "average_runs": [{"run": str(run), **{k: v for k, v in s.items() if k not in PLACE_SETTINGS}}
                         for run, s in zip(dirs, settings)], "average_with_start": with_start}, indent=2) + "\n")
    task = build_task(preset)
    average_weights(task, ingredients)
    task.save_weights(str(run_dir / WEIGHTS_FILE))
    cost = {key: round(sum(s[key] for s in summaries), 2) for key in ("train_minutes", "epochs_run", "updates")}
    averaged = [{"run": str(run), "validation_wer_greedy": s.get("validation_wer_greedy"),
                 "test_wer_greedy": s.get("test_wer_greedy"), "train_minutes": s.get("train_minutes")}
                for run, s in zip(dirs, summaries)]
    # the machine the minutes were spent on is the runs', not this one's (averaging takes seconds)
    machine = "; ".join(dict.fromkeys(str(s.get("machine", "?")) for s in summaries))
    return _evaluate_and_summarise(task, preset, manifest, run_dir, cost, start,
                                   {"averaged_runs": averaged, "averaged_with_start": with_start, "machine": machine})


def _verified_start(start: dict) -> Path:
    """The start file of a soup's runs, refused unless it still holds the bytes the runs continued."""
    from zoo.presets import sha256_file

    path = Path(start["weights"])
    found = sha256_file(path) if path.is_file() else None
    if found is None or (start.get("sha256") and found != start["sha256"]):
        raise ConfigError("average_with_start needs the runs' start file, unchanged", received=found,
                          expected=f"{path} with sha256 {start.get('sha256')}",
                          fix="restore the file the runs continued, or average without the start")
    return path


def _shared_start(starts: list) -> dict:
    """The one start (`continued_from`) of a soup's runs. They must name the same weights file; what each
    recorded of the file's earlier cost must agree where both know it. A run may know less: before the hub
    kept `earlier_weights` (training.publish), a copy of replaced published weights recorded None."""
    if any(start is None for start in starts) or len({start["weights"] for start in starts}) != 1:
        raise ConfigError("the runs of a soup must continue the same weights (averaging unrelated solutions gives "
                          "neither)", received=[(start or {}).get("weights") for start in starts],
                          expected="runs trained with the same --set init_weights=PATH",
                          fix="average runs that started from one file")
    merged = {}
    for key in dict.fromkeys(k for start in starts for k in start):
        known = [start[key] for start in starts if start.get(key) is not None]
        if any(value != known[0] for value in known):
            raise ConfigError(f"the runs of a soup disagree on their start's {key}", received=known,
                              expected="runs that continued the same file",
                              fix="average runs that started from one unchanged file")
        merged[key] = known[0] if known else None
    return merged


def train_asr(preset_name: str, overrides: dict | None = None, *, verbose: int = 2, init_weights=None) -> dict:
    """Train a SpeechRecognizer preset by its recipe; `init_weights` (a run's model.weights.h5, or
    `--set init_weights=PATH` on `zoo train`) continues from earlier weights instead of a random start
    (summary.json records it and the cost before it, as the separation recipe does). `--set
    average_runs=RUN,RUN` averages finished runs instead of training (average_asr_runs)."""
    import keras

    from training.train import start_run
    from zoo.metrics.asr import wer
    from zoo.presets import WEIGHTS_FILE, build_task

    overrides = dict(overrides or {})
    if overrides.get("average_runs"):
        return average_asr_runs(preset_name, overrides.pop("average_runs"), overrides)
    init_weights = overrides.pop("init_weights", None) or init_weights
    init_encoder = overrides.pop("init_encoder", None)
    if init_weights and init_encoder:
        raise ConfigError("set init_weights or init_encoder, not both", received=[init_weights, init_encoder],
                          expected="init_weights (the whole model) or init_encoder (its encoder only)")
    preset, exp, run_dir, manifest = start_run(preset_name, overrides, recipe="the speech-recognition recipe",
                                               reads=ASR_SETTINGS)
    if exp.checkin_utterances < 1:
        raise ConfigError("checkin_utterances must be a whole number >= 1", received=exp.checkin_utterances,
                          expected="validation utterances decoded per check-in (default 200)",
                          fix="e.g. --set checkin_utterances=934 for the whole validation split of full_free")
    task = build_task(preset, dropout=exp.dropout, **_decoder_override(preset, exp.prediction_dropout))
    continued = None
    if init_weights or init_encoder:
        from training.recipe import continued_from

        if init_weights:
            from zoo.presets import load_weights_verified

            load_weights_verified(task, Path(init_weights), None)
        else:
            load_encoder_weights(task, Path(init_encoder))
        continued = continued_from(init_weights or init_encoder, ("train_minutes", "updates", "test_wer_greedy"))
        if init_encoder:
            continued["part"] = "encoder"  # its cost still counts: the encoder trained that long
    augment = ({"noise_prob": exp.noise_prob, "snr_min_db": exp.snr_min_db,
                "time_mask_param": exp.time_mask_param if exp.spec_augment else 0,
                "freq_mask_param": exp.freq_mask_param if exp.spec_augment else 0,
                "freq_warp": exp.freq_warp, "tempo_perturb": exp.tempo_perturb,
                "spectral_eq_db": exp.spectral_eq_db} if exp.augment else None)
    num_train = len(split_rows(manifest, "train"))
    # fit() "epochs" are check-ins of CHECK_STEPS updates (validation WER, best weights, budget), so a
    # short budget still keeps its best point; the data pipeline itself repeats endlessly.
    steps_per_epoch = min(CHECK_STEPS, -(-num_train // exp.batch_size))
    warmup_steps = min(exp.warmup_epochs * -(-num_train // exp.batch_size), WARMUP_STEPS_MAX)
    train_ds = make_asr_dataset(task, manifest, "train", batch_size=exp.batch_size, augment=augment, shuffle=True,
                                seed=exp.seed, repeat=True, engine_balance=exp.engine_balance,
                                command_repeats=exp.command_repeats)
    trainer = _trainer(task, exp.aux_ctc_weight)
    optimizer = keras.optimizers.AdamW(learning_rate=exp.learning_rate, weight_decay=exp.weight_decay,
                                       global_clipnorm=5.0)
    trainer.compile(optimizer=optimizer)
    best_path = run_dir / WEIGHTS_FILE
    budget = exp.time_budget_min * 60.0

    class Schedule(keras.callbacks.Callback):
        """Warmup, then cosine decay over the time budget; validation WER, best weights, early stop."""

        def __init__(self):
            super().__init__()
            self.start = None
            self.best = float("inf")
            self.wait = 0
            self.history = []

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            frac = min(1.0, (time.perf_counter() - self.start) / budget)
            warm = min(1.0, (batch + 1 + steps_per_epoch * len(self.history)) / max(1, warmup_steps))
            lr = exp.learning_rate * min(warm, 0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * frac)))
            optimizer.learning_rate.assign(lr)

        def on_epoch_end(self, epoch, logs=None):
            refs, hyps, _, _ = decode_split(task, manifest, "validation", limit=exp.checkin_utterances)
            val_wer = wer(refs, hyps)
            elapsed = time.perf_counter() - self.start
            self.history.append({"epoch": epoch + 1, "loss": float(logs["loss"]), "val_wer": val_wer,
                                 "checkin_utterances": len(refs),
                                 "minutes": round(elapsed / 60, 2),
                                 "lr": float(optimizer.learning_rate.numpy())})
            print(f"epoch {epoch + 1}: loss {logs['loss']:.3f} val WER {val_wer:.4f} ({elapsed / 60:.1f} min)",
                  flush=True)
            if val_wer < self.best:
                self.best, self.wait = val_wer, 0
                task.save_weights(str(best_path))
            else:
                self.wait += 1
            per_epoch = elapsed / (epoch + 1)
            if self.wait >= exp.patience or elapsed + per_epoch > budget * 1.02:
                self.model.stop_training = True

    schedule = Schedule()
    start = time.perf_counter()
    trainer.fit(train_ds, epochs=10_000, steps_per_epoch=steps_per_epoch, callbacks=[schedule],
                verbose=verbose)
    train_seconds = time.perf_counter() - start
    with open(run_dir / "history.json", "w") as f:
        json.dump(schedule.history, f, indent=1)
    task.load_weights(str(best_path))
    cost = {"train_minutes": round(train_seconds / 60.0, 2),
            "epochs_run": round(len(schedule.history) * steps_per_epoch * exp.batch_size / num_train, 2),
            "updates": len(schedule.history) * steps_per_epoch}
    return _evaluate_and_summarise(task, preset, manifest, run_dir, cost, continued)


def _evaluate_and_summarise(task, preset, manifest, run_dir, cost: dict, continued: dict | None,
                            extra: dict | None = None) -> dict:
    """Test (greedy and beam) and validation WER of `task`, written with `cost` (train_minutes,
    epochs_run, updates) and `extra` (keys added, or replacing the defaults) to run_dir/summary.json."""
    import tensorflow as tf

    from training.train import _machine

    test = evaluate_asr(task, manifest, "test", out_dir=run_dir)
    val = evaluate_asr(task, manifest, "validation", out_dir=run_dir, beam_width=None)
    summary = {
        "preset": preset.name,
        "test_wer_greedy": round(test["wer_greedy"], 4),
        "test_wer_beam": round(test["wer_beam"], 4),
        "test_cer_greedy": round(test["cer_greedy"], 4),
        "test_cer_beam": round(test["cer_beam"], 4),
        "beam_width": BEAM_WIDTH,
        "validation_wer_greedy": round(val["wer_greedy"], 4),
        "test_wer_greedy_by_group": test["wer_greedy_by_group"],
        "test_wer_greedy_by_kind": test["wer_greedy_by_kind"],
        "test_utterances": test["num_utterances"],
        **cost,
        "params": int(task.count_params()),
        "machine": _machine(),
        **({"continued_from": continued} if continued else {}),
        **(extra or {}),
        "tensorflow": tf.__version__,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary
