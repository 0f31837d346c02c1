"""Per-channel energy normalization (Wang et al. 2017) with a TFLite-convertible IIR smoother."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.frontends import _dsp

# Frames older than 2 ** steps are dropped once (1 - s) ** (2 ** steps) falls below this weight.
MEMORY_TOLERANCE = 1e-7
INITIAL_STATES = ("first_frame", "unit")


def scan_steps(min_smoothing: float) -> int:
    """Doubling steps so that the dropped tail of the smoother weighs < MEMORY_TOLERANCE."""
    if min_smoothing >= 1.0:
        return 0
    frames = math.log(MEMORY_TOLERANCE) / math.log1p(-min_smoothing)
    return max(1, math.ceil(math.log2(frames)))


@keras.saving.register_keras_serializable(package="zoo")
class PCEN(keras.layers.Layer):
    """Mel energies [B, F, C] (linear, not log) -> PCEN [B, F, C].

        M[t] = (1 - s) M[t - 1] + s E[t]
        PCEN = (E / (eps + M) ** alpha + delta) ** root - delta ** root

    Initial state: initial_state="first_frame" sets M[-1] = E[0] (steady state on the first frame,
    as LEAF; librosa.pcen with zi=scipy.signal.lfilter_zi([s], [1, s - 1]) * E[..., :1]), and
    "unit" sets M[-1] = 1, which is librosa.pcen's default (zi = lfilter_zi, the steady state of a
    unit input). "first_frame" is the default because it does not depend on the energy scale.

    Smoother: TFLite has no scan builtin, so the first-order IIR runs as a log-depth doubling scan
    (h += a ** d * shift(h, d) for d = 1, 2, 4, ...; PAD + STRIDED_SLICE + MUL + ADD). This is the
    exact recurrence, for any number of frames, except that inputs older than 2 ** steps frames
    are dropped; `steps` is chosen so that their weight (1 - s) ** (2 ** steps) < 1e-7
    (10 steps for s = 0.025). Unlike a truncated convolution it keeps librosa's initial state
    exactly, and unlike an unrolled loop it does not fix the number of frames.

    alpha, delta, root and smoothing are per-channel weights (shape [C]) initialised to the given
    values; they are trained only when the layer is trainable (trainable=False by default, as a
    fixed frontend). The smoothing coefficient is clipped to [min_smoothing, 1] in the graph so
    the scan depth stays valid while training.

    Args:
        alpha: gain normalization exponent (librosa gain). delta: bias. root: compression
            exponent (librosa power). smoothing: IIR coefficient s (librosa b). eps: floor.
        trainable: whether the four parameters are trained.
        min_smoothing: lower clip of s (default smoothing / 4 when trainable, else smoothing).
        initial_state: "first_frame" | "unit" (see above).
    """

    def __init__(self, alpha=0.98, delta=2.0, root=0.5, smoothing=0.025, eps=1e-6, trainable=False,
                 min_smoothing=None, initial_state="first_frame", **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(trainable=trainable, **kwargs)
        owner = type(self).__name__
        self.alpha = _dsp.positive_float(owner, "alpha", alpha, allow_zero=True)
        self.delta = _dsp.positive_float(owner, "delta", delta)
        self.root = _dsp.positive_float(owner, "root", root)
        self.smoothing = _dsp.positive_float(owner, "smoothing", smoothing)
        self.eps = _dsp.positive_float(owner, "eps", eps)
        if self.smoothing > 1.0:
            raise ConfigError(f"{owner}: smoothing must be in (0, 1]", received=smoothing,
                              expected="0 < smoothing <= 1", fix="librosa's default is 0.025")
        if min_smoothing is None:
            min_smoothing = self.smoothing / 4.0 if trainable else self.smoothing
        self.min_smoothing = _dsp.positive_float(owner, "min_smoothing", min_smoothing)
        if self.min_smoothing > self.smoothing:
            raise ConfigError(f"{owner}: min_smoothing exceeds smoothing",
                              received=f"min_smoothing={min_smoothing}, smoothing={smoothing}",
                              expected="min_smoothing <= smoothing",
                              fix="lower min_smoothing or leave it None")
        self.steps = scan_steps(self.min_smoothing)
        self.initial_state = _dsp.one_of(owner, "initial_state", initial_state, INITIAL_STATES)

    def build(self, input_shape):
        _dsp.check_rank(type(self).__name__, input_shape, 3, "[batch, frames, channels] energies")
        channels = input_shape[-1]
        if channels is None:
            raise AudioError(f"{type(self).__name__} needs a known number of channels",
                             received=f"shape {tuple(input_shape)}",
                             expected="[batch, frames, channels] with channels known",
                             fix="give the model input a static last dimension")

        def param(name, value):
            return self.add_weight(name=name, shape=(channels,),
                                   initializer=keras.initializers.Constant(value), trainable=True)

        self.alpha_w = param("alpha", self.alpha)
        self.delta_w = param("delta", self.delta)
        self.root_w = param("root", self.root)
        self.smoothing_w = param("smoothing", self.smoothing)

    def smooth(self, energies):
        """The IIR smoother M (same shape as energies)."""
        if not self.built:
            self.build(energies.shape)
        s = tf.clip_by_value(tf.convert_to_tensor(self.smoothing_w), self.min_smoothing, 1.0)
        a = 1.0 - s
        # Fold the initial state into the first input: M[0] = s E[0] + (1 - s) M[-1].
        first = energies[:, :1, :]
        initial = first if self.initial_state == "first_frame" else tf.ones_like(first)
        h = tf.concat([s * first + a * initial, s * energies[:, 1:, :]], axis=1)
        frames = energies.shape[1] if energies.shape[1] is not None else tf.shape(energies)[1]
        a_pow, shift = a, 1
        for _ in range(self.steps):
            delayed = tf.pad(h, [[0, 0], [shift, 0], [0, 0]])[:, :frames, :]
            h = h + a_pow * delayed
            a_pow, shift = a_pow * a_pow, shift * 2
        return h

    def call(self, inputs):
        energies = tf.cast(inputs, tf.float32)
        m = self.smooth(energies)
        alpha, delta, root = (tf.convert_to_tensor(w) for w in (self.alpha_w, self.delta_w, self.root_w))
        gain = tf.pow(self.eps + m, -alpha)
        return tf.pow(energies * gain + delta, root) - tf.pow(delta, root)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, delta=self.delta, root=self.root, smoothing=self.smoothing,
                      eps=self.eps, min_smoothing=self.min_smoothing,
                      initial_state=self.initial_state)
        return config
