"""tf.data input pipeline for clip classification (keyword spotting) from a JSONL manifest.

select rows -> (path, class_id, index) -> decode (tf.audio.decode_wav for 16-bit PCM WAV at the
target rate; soundfile + soxr resampling in a py_function for anything else) -> mono ->
crop/pad -> cache -> per epoch: shuffle -> per-example augmentation draws -> batch ->
augmentation, frontend and SpecAugment per batch (batched work is ~10x faster on CPU) -> prefetch.

Determinism: the epoch order comes from a seed derived from (seed, epoch) and every example is
augmented with stateless ops keyed by (seed, epoch, manifest index), so batches are identical
across runs and across any parallelism (maps run with deterministic=True).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from training.augment import Augmenter
from training.manifest import read_manifest
from training.labels import SPLITS, class_counts, select_rows
from zoo.errors import ConfigError, DataError

AUTOTUNE = tf.data.AUTOTUNE


def _resolve(manifest_path, row) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(os.fspath(manifest_path))), row["path"])


def _probe(paths: Sequence[str], sample_rate: int) -> np.ndarray:
    """True where tf.audio.decode_wav can read the file as is; raises listing unreadable files."""
    import soundfile as sf

    native, bad = [], []
    for path in paths:
        try:
            info = sf.info(path)
        except Exception as e:  # soundfile raises several types for missing/corrupt files
            bad.append(f"{path} ({type(e).__name__})")
            native.append(False)
            continue
        native.append(info.format == "WAV" and info.subtype == "PCM_16" and info.samplerate == sample_rate)
    if bad:
        shown = "; ".join(bad[:10]) + (f"; ... {len(bad) - 10} more" if len(bad) > 10 else "")
        raise DataError(f"{len(bad)} audio file(s) of the manifest are missing or unreadable",
                        received=shown, expected="readable audio files at the manifest's paths",
                        fix="regenerate the corpus or remove those rows from the manifest")
    return np.asarray(native, bool)


def _fit_length(wave, clip_samples: int):
    """Centre-crop longer clips, zero-pad shorter ones at the end (Speech Commands convention)."""
    n = tf.shape(wave)[0]
    start = tf.maximum(n - clip_samples, 0) // 2
    wave = wave[start: start + clip_samples]
    wave = tf.pad(wave, [[0, clip_samples - tf.shape(wave)[0]]])
    return tf.ensure_shape(wave, [clip_samples])


def _read_foreign(path, sample_rate: int) -> np.ndarray:
    from zoo.audio import read_audio

    # zoo.audio resamples with soxr and mixes down to mono.
    wave, _ = read_audio(path, sample_rate=sample_rate, mono=True)
    return np.asarray(wave, np.float32)


def _decoder(sample_rate: int, clip_samples: int):
    def foreign(path):
        wave = tf.py_function(lambda p: _read_foreign(p.numpy().decode(), sample_rate), [path], tf.float32)
        return tf.ensure_shape(wave, [None])

    def native(path):
        audio, _ = tf.audio.decode_wav(tf.io.read_file(path))
        return tf.reduce_mean(audio, axis=1)

    def decode(path, is_native):
        wave = tf.cond(is_native, lambda: native(path), lambda: foreign(path))
        return _fit_length(wave, clip_samples)

    return decode


def _check_args(split, batch_size, clip_samples, sample_rate, augmenter, spec_augment, frontend, num_epochs,
                epoch, seed):
    if split not in SPLITS:
        raise ConfigError("unknown split", received=repr(split), expected=" | ".join(SPLITS))
    for name, value in (("batch_size", batch_size), ("clip_samples", clip_samples), ("sample_rate", sample_rate)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{name} must be a positive int", received=repr(value), expected="e.g. 64")
    for name, value in (("epoch", epoch), ("seed", seed)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{name} must be an int >= 0", received=repr(value), expected="e.g. 0")
    if num_epochs is not None and (not isinstance(num_epochs, int) or num_epochs <= 0):
        raise ConfigError("num_epochs must be a positive int or None (endless)", received=repr(num_epochs),
                          expected="e.g. 1")
    if (augmenter is not None or spec_augment is not None) and split != "train":
        raise ConfigError(f"augmentation was passed for the {split!r} split", received=split,
                          expected="augmenter/spec_augment only for split='train'",
                          fix="pass augmenter=None and spec_augment=None for evaluation splits")
    if augmenter is not None and not isinstance(augmenter, Augmenter):
        raise ConfigError("augmenter must be a training.augment.Augmenter", received=type(augmenter).__name__,
                          expected="Augmenter(config, noise_bank, rir_bank, sample_rate)")
    if augmenter is not None and augmenter.sample_rate != sample_rate:
        raise ConfigError("the augmenter's sample rate differs from the pipeline's",
                          received=augmenter.sample_rate, expected=sample_rate,
                          fix="build the Augmenter with the pipeline's sample_rate")
    if spec_augment is not None:
        if frontend is None:
            raise ConfigError("spec_augment needs features but frontend is None", received="frontend=None",
                              expected="a frontend layer", fix="pass a frontend or drop spec_augment")
        if not isinstance(spec_augment, Augmenter) and not callable(spec_augment):
            raise ConfigError("spec_augment must be an Augmenter or a Keras layer",
                              received=type(spec_augment).__name__,
                              expected="Augmenter (stateless, per-example seeds) or a SpecAugment layer")


@contextlib.contextmanager
def _no_global_seed():
    """Trace the epoch function without TF's global seed: with one set (keras.utils.set_random_seed),
    Dataset.shuffle cannot take a tensor seed (it compares the seed pair with (0, 0) as a Python
    bool). Our order is keyed by (seed, epoch) anyway, so the global seed adds nothing."""
    from tensorflow.python.eager import context

    previous = context.global_seed()
    if previous is None:
        yield
        return
    tf.random.set_seed(None)
    try:
        yield
    finally:
        tf.random.set_seed(previous)


def _epoch_seed(seed: int, epoch):
    """Base seed [2] of one epoch: (seed, epoch) as an int64 pair."""
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])


def make_dataset(
    manifest_path: str | os.PathLike,
    split: str,
    classes: Sequence[str],
    *,
    frontend=None,
    batch_size: int,
    clip_samples: int = 16000,
    sample_rate: int = 16000,
    augmenter: Augmenter | None = None,
    spec_augment=None,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
    num_epochs: int | None = 1,
    unknown_ratio: float | None = 1.0,
    selection_seed: int = 0,
    cache_decoded: bool | str = True,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of (features f32 [B, frames, bins], class_id i32 [B]), or (waveform f32 [B, T], class_id)
    when `frontend` is None.

    Yields `num_epochs` epochs (None: endless) starting at `epoch`; epoch e has its own order and
    augmentation draws, fixed by (seed, e), and batches never straddle epochs. To resume at epoch
    k, pass epoch=k. With Keras fit, pass num_epochs=None and steps_per_epoch.
    `selection_seed` fixes which "unknown" clips are kept (see training.labels.select_rows); it is
    separate from `seed` so evaluation sets do not change with the training seed.
    `augmenter` is applied per example, `spec_augment` per batch on features: pass the Augmenter
    itself for its stateless SpecAugment (deterministic), or a Keras SpecAugment layer (called with
    training=True; deterministic only as far as that layer is). Both are for split="train" only.
    `cache_decoded`: True caches decoded clips in memory (clips x clip_samples x 4 bytes), a path
    caches them to that file, False decodes every epoch.
    """
    _check_args(split, batch_size, clip_samples, sample_rate, augmenter, spec_augment, frontend, num_epochs,
                epoch, seed)
    rows = select_rows(read_manifest(manifest_path), split, classes, unknown_ratio=unknown_ratio,
                       seed=selection_seed)
    if not rows:
        raise DataError(f"no rows of split {split!r} in the manifest", received=os.fspath(manifest_path),
                        expected=f"rows with split={split!r}", fix="check the manifest or the split name")
    paths = [_resolve(manifest_path, r) for r in rows]
    native = _probe(paths, sample_rate)
    class_ids = np.array([r["class_id"] for r in rows], np.int32)
    indices = np.arange(len(rows), dtype=np.int64)

    decode = _decoder(sample_rate, clip_samples)
    decoded = tf.data.Dataset.from_tensor_slices((paths, native, class_ids, indices)).map(
        lambda p, nat, c, i: (decode(p, nat), c, i), num_parallel_calls=AUTOTUNE, deterministic=True)
    if cache_decoded:
        decoded = decoded.cache("" if cache_decoded is True else os.fspath(cache_decoded))

    use_spec = isinstance(spec_augment, Augmenter)

    def per_example(base_seed):
        # Only the per-example uniforms are drawn here; the augmentation itself runs per batch.
        def fn(wave, class_id, index):
            example_seed = tf.random.experimental.stateless_fold_in(base_seed, index)
            draws = augmenter.draw(example_seed) if augmenter is not None else tf.zeros([0])
            spec_draws = spec_augment.spec_augment_draws(example_seed) if use_spec else tf.zeros([0])
            return wave, class_id, draws, spec_draws
        return fn

    def one_epoch(e):
        base_seed = _epoch_seed(seed, e)
        ds = decoded
        if shuffle:
            # Full-buffer shuffle; its op seed is drawn from (seed, epoch).
            shuffle_seed = tf.random.stateless_uniform([], base_seed, minval=None, maxval=None, dtype=tf.int64)
            ds = ds.shuffle(len(rows), seed=shuffle_seed, reshuffle_each_iteration=False)
        ds = ds.map(per_example(base_seed), num_parallel_calls=AUTOTUNE, deterministic=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder)

    end = None if num_epochs is None else epoch + num_epochs
    epochs = tf.data.Dataset.range(epoch, 2**62 if end is None else end)
    with _no_global_seed():
        ds = epochs.flat_map(one_epoch)

    def features(waves, class_ids, draws, spec_draws):
        if augmenter is not None:
            waves = augmenter.apply(waves, draws)
        out = waves
        if frontend is not None:
            out = tf.cast(frontend(waves), tf.float32)
            if use_spec:
                out = spec_augment.apply_spec_augment(out, spec_draws)
            elif spec_augment is not None:
                out = tf.cast(spec_augment(out, training=True), tf.float32)
        return out, tf.cast(class_ids, tf.int32)

    ds = ds.map(features, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.prefetch(AUTOTUNE)


def split_rows(manifest_path, split: str, classes: Sequence[str], *, unknown_ratio: float | None = 1.0,
               selection_seed: int = 0) -> list[dict]:
    """The rows make_dataset uses for `split` (with "class_id"), in manifest order."""
    return select_rows(read_manifest(manifest_path), split, classes, unknown_ratio=unknown_ratio,
                       seed=selection_seed)


def dataset_size(manifest_path, split: str, classes: Sequence[str], *, unknown_ratio: float | None = 1.0,
                 selection_seed: int = 0) -> int:
    """Clips per epoch of make_dataset with the same arguments."""
    return len(split_rows(manifest_path, split, classes, unknown_ratio=unknown_ratio,
                          selection_seed=selection_seed))


def dataset_class_counts(manifest_path, split: str, classes: Sequence[str], *,
                         unknown_ratio: float | None = 1.0, selection_seed: int = 0) -> dict[str, int]:
    """Clips per class name in one epoch of make_dataset with the same arguments."""
    return class_counts(split_rows(manifest_path, split, classes, unknown_ratio=unknown_ratio,
                                   selection_seed=selection_seed), classes)


def representative_waveforms(manifest_path, split: str, n: int, seed: int, *, clip_samples: int = 16000,
                             sample_rate: int = 16000) -> np.ndarray:
    """`n` clips (fewer if the split is smaller) of `split`, any label, decoded like make_dataset:
    float32 [n, clip_samples]. The choice depends only on `seed` and the clips' paths."""
    if not isinstance(n, int) or n <= 0:
        raise ConfigError("n must be a positive int", received=repr(n), expected="e.g. 200")
    if split not in SPLITS:
        raise ConfigError("unknown split", received=repr(split), expected=" | ".join(SPLITS))
    rows = sorted((r for r in read_manifest(manifest_path) if r["split"] == split), key=lambda r: str(r["path"]))
    if not rows:
        raise DataError(f"no rows of split {split!r} in the manifest", received=os.fspath(manifest_path),
                        expected=f"rows with split={split!r}")
    chosen = np.sort(np.random.default_rng(seed).choice(len(rows), size=min(n, len(rows)), replace=False))
    paths = [_resolve(manifest_path, rows[i]) for i in chosen]
    native = _probe(paths, sample_rate)
    decode = _decoder(sample_rate, clip_samples)
    return np.stack([decode(tf.constant(p), tf.constant(bool(k))).numpy() for p, k in zip(paths, native)])
