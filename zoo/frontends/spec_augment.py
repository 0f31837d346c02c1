"""SpecAugment frequency and time masking (Park et al. 2019), active only in training."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.frontends import _dsp


@keras.saving.register_keras_serializable(package="zoo")
class SpecAugment(keras.layers.Layer):
    """Features [B, F, C] -> the same features with random stripes set to mask_value (training only).

    Per example, num_freq_masks channel stripes of width w ~ U{0..freq_mask_param} and
    num_time_masks frame stripes of width w ~ U{0..min(time_mask_param, floor(time_mask_max_ratio * F))}
    are placed uniformly at random (stripes may overlap). With training=False (or None) the layer
    returns its input unchanged, so an exported inference graph contains no op from it.

    Args:
        freq_mask_param, time_mask_param: maximum stripe widths (SpecAugment's F and T).
        num_freq_masks, num_time_masks: stripes per example (mF, mT).
        seed: int seed of the layer's keras.random.SeedGenerator (None: nondeterministic).
        time_mask_max_ratio: SpecAugment's p, upper bound of a time stripe as a fraction of F.
        mask_value: value written into the stripes.
    """

    def __init__(self, freq_mask_param, time_mask_param, num_freq_masks=2, num_time_masks=2,
                 seed=None, time_mask_max_ratio=1.0, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.freq_mask_param = _dsp.positive_int(owner, "freq_mask_param", freq_mask_param, minimum=0)
        self.time_mask_param = _dsp.positive_int(owner, "time_mask_param", time_mask_param, minimum=0)
        self.num_freq_masks = _dsp.positive_int(owner, "num_freq_masks", num_freq_masks, minimum=0)
        self.num_time_masks = _dsp.positive_int(owner, "num_time_masks", num_time_masks, minimum=0)
        self.time_mask_max_ratio = _dsp.positive_float(owner, "time_mask_max_ratio", time_mask_max_ratio)
        if self.time_mask_max_ratio > 1.0:
            raise ConfigError(f"{owner}: time_mask_max_ratio must be in (0, 1]",
                              received=time_mask_max_ratio, expected="0 < p <= 1",
                              fix="SpecAugment uses p = 1.0 (LibriSpeech basic) or 0.2 (LD)")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"{owner}: seed must be an int or None", received=repr(seed),
                              expected="int or None")
        self.seed = seed
        self.mask_value = float(mask_value)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch, size, max_width, count):
        """[B, size] float: 0 inside any of `count` random stripes of width <= max_width, else 1."""
        if count == 0:
            return None
        shape = tf.stack([batch, count])
        u_width = keras.random.uniform(shape, seed=self.seed_generator)
        u_start = keras.random.uniform(shape, seed=self.seed_generator)
        max_width = tf.minimum(tf.cast(max_width, tf.float32), tf.cast(size, tf.float32))
        width = tf.floor(u_width * (max_width + 1.0))
        width = tf.minimum(width, max_width)  # u == 1 - ulp guard
        start = tf.floor(u_start * (tf.cast(size, tf.float32) - width + 1.0))
        idx = tf.cast(tf.range(size), tf.float32)[None, None, :]
        inside = (idx >= start[..., None]) & (idx < (start + width)[..., None])
        return 1.0 - tf.cast(tf.reduce_any(inside, axis=1), tf.float32)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        _dsp.check_rank(type(self).__name__, inputs.shape, 3, "[batch, frames, channels] features")
        x = inputs
        shape = tf.shape(x)
        batch, frames, channels = shape[0], shape[1], shape[2]
        keep = tf.ones_like(x)
        time_cap = tf.minimum(
            tf.cast(self.time_mask_param, tf.float32),
            tf.floor(self.time_mask_max_ratio * tf.cast(frames, tf.float32)))
        k_freq = self._keep(batch, channels, float(self.freq_mask_param), self.num_freq_masks)
        k_time = self._keep(batch, frames, time_cap, self.num_time_masks)
        if k_freq is not None:
            keep = keep * tf.cast(k_freq[:, None, :], x.dtype)
        if k_time is not None:
            keep = keep * tf.cast(k_time[:, :, None], x.dtype)
        return tf.where(keep > 0, x, tf.cast(self.mask_value, x.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(freq_mask_param=self.freq_mask_param, time_mask_param=self.time_mask_param,
                      num_freq_masks=self.num_freq_masks, num_time_masks=self.num_time_masks,
                      seed=self.seed, time_mask_max_ratio=self.time_mask_max_ratio,
                      mask_value=self.mask_value)
        return config
