"""GanVocoder: a GanVocoderGenerator trained adversarially against multi-scale and multi-period
discriminators in ONE custom train_step (both updates, two optimizers).

Generator loss = stft_weight * MR-STFT + adversarial_weight * LSGAN + feature_matching_weight * FM;
discriminator loss = LSGAN (real -> 1, fake -> 0), summed over critics. For the first warmup_steps
generator steps only the MR-STFT loss trains the generator and the discriminators are not run
(Parallel WaveGAN's warm-up: a spectrally correct generator in few CPU steps, then the GAN
sharpens it). The model's call(mel) is the generator.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.errors import ConfigError
from zoo.families.synthesis.gan_vocoder._checks import int_list, non_negative_float, positive_int
from zoo.families.synthesis.gan_vocoder.gan_vocoder_generator import GanVocoderGenerator
from zoo.families.synthesis.gan_vocoder.multi_period_discriminator import MultiPeriodDiscriminator
from zoo.families.synthesis.gan_vocoder.multi_scale_discriminator import MultiScaleDiscriminator
from zoo.losses.stft_loss import MultiResolutionSTFTLoss

LOG_NAMES = ("loss", "stft_loss", "adversarial_loss", "feature_matching_loss", "discriminator_loss")


@keras.saving.register_keras_serializable(package="zoo")
class GanVocoder(keras.Model):
    """Mel f32[B, N, 80] -> waveform f32[B, N * hop] (inference = the generator); fit() on
    (mel, waveform) pairs trains generator and discriminators.

    Args:
        generator: a GanVocoderGenerator (None: the default one).
        num_scales: MultiScaleDiscriminator critics (0: none).
        scale_channels, scale_max_channels: its first / capped channel counts.
        periods: MultiPeriodDiscriminator periods ([] : none).
        period_channels: its strided conv channels.
        warmup_steps: generator steps trained on the MR-STFT loss alone.
        stft_weight, adversarial_weight, feature_matching_weight: generator loss weights
            (Parallel WaveGAN's MelGAN recipe: 1, 4, 25; FM is the mean L1 over all feature maps).
        stft_fft_lengths, stft_frame_steps, stft_frame_lengths: MultiResolutionSTFTLoss resolutions.
    """

    def __init__(self, generator=None, num_scales=3, scale_channels=16, scale_max_channels=128,
                 periods=(2, 3, 5, 7, 11), period_channels=(8, 16, 32, 64), warmup_steps=1000, stft_weight=1.0,
                 adversarial_weight=4.0, feature_matching_weight=25.0, stft_fft_lengths=(1024, 2048, 512),
                 stft_frame_steps=(120, 240, 50), stft_frame_lengths=(600, 1200, 240), **kwargs):
        kwargs.setdefault("name", "gan_vocoder")
        super().__init__(**kwargs)
        owner = type(self).__name__
        if generator is None:
            generator = GanVocoderGenerator()
        if isinstance(generator, dict):
            generator = keras.saving.deserialize_keras_object(generator)
        if not isinstance(generator, GanVocoderGenerator):
            raise ConfigError(f"{owner}: generator must be a GanVocoderGenerator", received=type(generator).__name__,
                              expected="GanVocoderGenerator", fix="pass GanVocoderGenerator(...) or None")
        self.generator = generator
        self.num_scales = positive_int(owner, "num_scales", num_scales, minimum=0)
        self.scale_channels = positive_int(owner, "scale_channels", scale_channels)
        self.scale_max_channels = positive_int(owner, "scale_max_channels", scale_max_channels)
        self.periods = [] if not periods else int_list(owner, "periods", periods, minimum=2)
        self.period_channels = int_list(owner, "period_channels", period_channels)
        if not self.num_scales and not self.periods:
            raise ConfigError(f"{owner}: needs at least one discriminator", received="num_scales=0, periods=[]",
                              expected="num_scales >= 1 or a non-empty periods list", fix="pass num_scales=3")
        self.warmup_steps = positive_int(owner, "warmup_steps", warmup_steps, minimum=0)
        self.stft_weight = non_negative_float(owner, "stft_weight", stft_weight)
        self.adversarial_weight = non_negative_float(owner, "adversarial_weight", adversarial_weight)
        self.feature_matching_weight = non_negative_float(owner, "feature_matching_weight", feature_matching_weight)
        self.stft_loss = MultiResolutionSTFTLoss(list(stft_fft_lengths), list(stft_frame_steps),
                                                 list(stft_frame_lengths))
        self.stft_fft_lengths = self.stft_loss.fft_lengths
        self.stft_frame_steps = self.stft_loss.frame_steps
        self.stft_frame_lengths = self.stft_loss.frame_lengths
        self.discriminators = []
        if self.num_scales:
            self.discriminators.append(MultiScaleDiscriminator(self.num_scales, self.scale_channels,
                                                               self.scale_max_channels, name="msd"))
        if self.periods:
            self.discriminators.append(MultiPeriodDiscriminator(self.periods, self.period_channels, name="mpd"))
        self.trackers = {n: keras.metrics.Mean(name=n) for n in LOG_NAMES}
        self.generator_optimizer = self.discriminator_optimizer = None

    # ------------------------------------------------------------------ inference
    def build(self, input_shape=None):
        for d in self.discriminators:
            d.build((None, None))
        self.built = True

    def call(self, mel, training=False):
        return self.generator(mel, training=training)

    @property
    def discriminator_variables(self):
        return [v for d in self.discriminators for v in d.trainable_variables]

    def discriminate(self, waveform):
        """Every critic's feature maps: a flat list of per-critic lists (score map last)."""
        return [feats for d in self.discriminators for feats in d(waveform)]

    # ------------------------------------------------------------------ training
    def compile(self, generator_optimizer=None, discriminator_optimizer=None, **kwargs):
        """Adam(2e-4, 0.5, 0.9) for both unless given (MelGAN / HiFi-GAN practice)."""
        kwargs.setdefault("jit_compile", False)  # XLA trains 2-3x slower on these CPUs (DESIGN.md 5)
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        self.discriminator_optimizer = discriminator_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
        if not self.built:
            self.build()
        # Built now: tf.cond branches below may not create variables.
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator_variables)

    def get_compile_config(self):
        return None  # the optimizers are not part of the artifact; compile() again to continue training

    @property
    def metrics(self):
        return list(self.trackers.values())

    def losses_for(self, mel, waveform, training=True):
        """(generator losses dict, discriminator loss) of one batch, without updates."""
        fake = self.generator(mel, training=training)
        stft = self.stft_loss(waveform, fake)
        real_out, fake_out = self.discriminate(waveform), self.discriminate(fake)
        d_loss = tf.add_n([tf.reduce_mean(tf.square(r[-1] - 1.0)) + tf.reduce_mean(tf.square(f[-1]))
                           for r, f in zip(real_out, fake_out)])
        adv = tf.add_n([tf.reduce_mean(tf.square(f[-1] - 1.0)) for f in fake_out])
        fm = [tf.reduce_mean(tf.abs(tf.stop_gradient(r) - f)) for rs, fs in zip(real_out, fake_out)
              for r, f in zip(rs[:-1], fs[:-1])]
        fm = tf.add_n(fm) / len(fm)
        total = self.stft_weight * stft + self.adversarial_weight * adv + self.feature_matching_weight * fm
        return {"loss": total, "stft_loss": stft, "adversarial_loss": adv, "feature_matching_loss": fm}, d_loss

    def _warmup_step(self, mel, waveform):
        with tf.GradientTape() as tape:
            stft = self.stft_loss(waveform, self.generator(mel, training=True))
            loss = self.stft_weight * stft
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        zero = tf.zeros_like(stft)
        return {"loss": loss, "stft_loss": stft, "adversarial_loss": zero, "feature_matching_loss": zero,
                "discriminator_loss": zero}

    def _gan_step(self, mel, waveform):
        with tf.GradientTape(persistent=True) as tape:
            logs, d_loss = self.losses_for(mel, waveform)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator_variables
        g_grads = tape.gradient(logs["loss"], g_vars)
        d_grads = tape.gradient(d_loss, d_vars)
        del tape
        self.discriminator_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.generator_optimizer.apply_gradients(zip(g_grads, g_vars))
        return {**logs, "discriminator_loss": d_loss}

    def train_step(self, data):
        if self.generator_optimizer is None:
            raise ConfigError("GanVocoder.fit before compile", expected="model.compile() first",
                              fix="call model.compile() (optionally with generator_/discriminator_optimizer)")
        mel, waveform = data
        mel, waveform = tf.cast(mel, tf.float32), tf.cast(waveform, tf.float32)
        adversarial = self.generator_optimizer.iterations >= self.warmup_steps
        logs = tf.cond(adversarial, lambda: self._gan_step(mel, waveform),
                       lambda: self._warmup_step(mel, waveform))
        for name, tracker in self.trackers.items():
            tracker.update_state(logs[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        mel, waveform = data
        logs, d_loss = self.losses_for(tf.cast(mel, tf.float32), tf.cast(waveform, tf.float32), training=False)
        logs["discriminator_loss"] = d_loss
        for name, tracker in self.trackers.items():
            tracker.update_state(logs[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "generator": keras.saving.serialize_keras_object(self.generator), "num_scales": self.num_scales,
                "scale_channels": self.scale_channels, "scale_max_channels": self.scale_max_channels,
                "periods": self.periods, "period_channels": self.period_channels, "warmup_steps": self.warmup_steps,
                "stft_weight": self.stft_weight, "adversarial_weight": self.adversarial_weight,
                "feature_matching_weight": self.feature_matching_weight, "stft_fft_lengths": self.stft_fft_lengths,
                "stft_frame_steps": self.stft_frame_steps, "stft_frame_lengths": self.stft_frame_lengths}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
