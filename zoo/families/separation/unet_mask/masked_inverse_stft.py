"""One mask per source applied to a mixture STFT, then the inverse STFT of every masked spectrum."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.frontends.inverse_stft import InverseSTFT


@keras.saving.register_keras_serializable(package="zoo")
class MaskedInverseSTFT(keras.layers.Layer):
    """(spectrum f32[B, F, K, 2] from STFT(output="complex"), masks f32[B, S, F, K]) -> f32[B, S, T']:
    InverseSTFT(mask_s * spectrum) for every source s (real masks: the mixture's phase is kept).

    All sources go through one InverseSTFT call (sources folded into the batch), so the exported
    graph holds its inverse-DFT matrix once.

    Args:
        frame_length, frame_step, fft_length, window: those of the analysis STFT.
    """

    def __init__(self, frame_length, frame_step, fft_length, window="hann", **kwargs):
        super().__init__(**kwargs)
        self.istft = InverseSTFT(frame_length, frame_step, fft_length, window=window, name="istft")
        self.frame_length, self.frame_step, self.fft_length, self.window = (
            self.istft.frame_length, self.istft.frame_step, self.istft.fft_length, window)

    def call(self, spectrum, masks):
        masked = spectrum[:, None] * masks[..., None]  # [B, S, F, K, 2]
        shape = tf.shape(masked)
        flat = tf.reshape(masked, tf.concat([[-1], shape[2:]], axis=0))
        flat.set_shape([None, None, self.istft.num_bins, 2])
        waves = self.istft(flat)
        return tf.reshape(waves, [shape[0], masks.shape[1], -1])

    def compute_output_spec(self, spectrum, masks):
        return keras.KerasTensor((masks.shape[0], masks.shape[1], None), dtype=masks.dtype)

    def get_config(self):
        return {**super().get_config(), "frame_length": self.frame_length, "frame_step": self.frame_step,
                "fft_length": self.fft_length, "window": self.window}
