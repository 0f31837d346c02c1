"""NoteVAE: a variational autoencoder over the normalized log-mel of one instrument note.

Features: log(mel power + log_offset) of zoo.frontends.LogMelSpectrogram (no centering; the clip
is zero-padded to num_frames frames), standardised per mel band with the training set's
`feature_mean` / `feature_std` (constructor arguments, so they travel with the artifact).

Training (one custom train_step): the encoder gives a diagonal Gaussian q(z|x); z = mu +
exp(logvar / 2) * eps (reparameterization); the decoder gives the mean of a Gaussian p(x|z).
loss = sum of squared errors over the feature map (a Gaussian likelihood with variance 1/2 in
normalized units) + beta_t * KL(q(z|x) || N(0, I)), both per example and averaged over the batch;
beta_t rises linearly from 0 to `beta` over the first `kl_warmup_steps` steps (KL warm-up,
Bowman et al. 2016: the decoder learns to use z before the prior pulls the posteriors together).

Audio: undo the normalization and feed the log-mel to zoo's GriffinLimVocoder; the output is
cropped to the clip length. call(features) reconstructs from the posterior mean.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.families.synthesis.griffin_lim.griffin_lim_vocoder import GriffinLimVocoder
from zoo.families.synthesis.note_vae._checks import positive_int
from zoo.families.synthesis.note_vae.note_decoder import NoteDecoder
from zoo.families.synthesis.note_vae.note_encoder import NoteEncoder
from zoo.frontends.log_mel_spectrogram import LogMelSpectrogram

LOG_NAMES = ("loss", "reconstruction_mse", "kl", "beta")


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats per example, summed over the last axis."""
    mu, logvar = tf.cast(mu, tf.float32), tf.cast(logvar, tf.float32)
    return 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mu) - 1.0 - logvar, axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class NoteVAE(keras.Model):
    """Normalized log-mel [B, num_frames, num_mel_bins] -> reconstruction of the same shape.

    Args:
        sample_rate, frame_length, frame_step, fft_length, num_mel_bins, log_offset: the log-mel
            (LogMelSpectrogram's arguments; fmin 0, fmax sample_rate / 2).
        num_frames: frames per note (clips are zero-padded or cropped to
            (num_frames - 1) * frame_step + frame_length samples).
        clip_samples: samples of a note (vocoded output is cropped to this).
        latent_dim, channels: NoteEncoder / NoteDecoder sizes.
        beta: KL weight after warm-up; kl_warmup_steps: optimizer steps of the linear warm-up (0: none).
        feature_mean, feature_std: per-band statistics of the training set's log-mel (lists of
            num_mel_bins floats; None: 0 and 1).
        griffin_lim_iterations: phase-reconstruction rounds of the vocoder.
        seed: seed of the reparameterization noise.
    """

    def __init__(self, sample_rate=16000, frame_length=1024, frame_step=256, fft_length=1024, num_mel_bins=64,
                 num_frames=64, clip_samples=16000, log_offset=1e-5, latent_dim=32, channels=(32, 64, 128, 128),
                 beta=1.0, kl_warmup_steps=2000, feature_mean=None, feature_std=None, griffin_lim_iterations=64,
                 seed=0, **kwargs):
        kwargs.setdefault("name", "note_vae")
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.sample_rate = positive_int(owner, "sample_rate", sample_rate)
        self.frame_length = positive_int(owner, "frame_length", frame_length)
        self.frame_step = positive_int(owner, "frame_step", frame_step)
        self.fft_length = positive_int(owner, "fft_length", fft_length)
        self.num_mel_bins = positive_int(owner, "num_mel_bins", num_mel_bins)
        self.num_frames = positive_int(owner, "num_frames", num_frames)
        self.clip_samples = positive_int(owner, "clip_samples", clip_samples)
        self.latent_dim = positive_int(owner, "latent_dim", latent_dim)
        self.kl_warmup_steps = positive_int(owner, "kl_warmup_steps", kl_warmup_steps, minimum=0)
        self.griffin_lim_iterations = positive_int(owner, "griffin_lim_iterations", griffin_lim_iterations, minimum=0)
        self.seed = positive_int(owner, "seed", seed, minimum=0)
        for name, value in (("log_offset", log_offset), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{owner}: {name} must be a float > 0", received=repr(value), expected="> 0",
                                  fix=f"pass e.g. {name}={1e-5 if name == 'log_offset' else 1.0}")
        self.log_offset, self.beta = float(log_offset), float(beta)
        self.feature_mean = self._band_list("feature_mean", feature_mean, 0.0)
        self.feature_std = self._band_list("feature_std", feature_std, 1.0)
        if min(self.feature_std) <= 0:
            raise ConfigError(f"{owner}: feature_std must be positive", received=min(self.feature_std),
                              expected="values > 0", fix="pass the statistics from NoteVAE.band_statistics")
        self.encoder = NoteEncoder(self.num_frames, self.num_mel_bins, self.latent_dim, channels, name="encoder")
        self.decoder = NoteDecoder(self.num_frames, self.num_mel_bins, self.latent_dim, channels, name="decoder")
        self.channels = self.encoder.channels
        self.noise = keras.random.SeedGenerator(self.seed)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in LOG_NAMES}
        # Weightless, made here: a built Keras model may not gain sub-layers later.
        self.frontend = LogMelSpectrogram(self.sample_rate, self.frame_length, self.frame_step, self.fft_length,
                                          self.num_mel_bins, 0.0, None, log_offset=self.log_offset, name="log_mel")
        self.vocoder = GriffinLimVocoder(self.sample_rate, self.frame_length, self.frame_step, self.fft_length,
                                         self.num_mel_bins, input_scale="log", log_offset=self.log_offset,
                                         num_iterations=self.griffin_lim_iterations, name="griffin_lim")

    def _band_list(self, name, value, default):
        if value is None:
            return [default] * self.num_mel_bins
        values = np.asarray(value, dtype=np.float64).reshape(-1)
        if values.shape != (self.num_mel_bins,) or not np.all(np.isfinite(values)):
            raise ConfigError(f"{type(self).__name__}: {name} needs one finite value per mel band",
                              received=f"shape {values.shape}", expected=f"({self.num_mel_bins},)",
                              fix="pass the statistics from NoteVAE.band_statistics")
        return [float(v) for v in values]

    # ------------------------------------------------------------------ features and audio
    @property
    def padded_samples(self) -> int:
        return (self.num_frames - 1) * self.frame_step + self.frame_length

    def log_mel(self, waveforms) -> np.ndarray:
        """Un-normalized log-mel [B, num_frames, num_mel_bins] of waveforms [B, T] (or [T])."""
        x = np.asarray(waveforms, dtype=np.float32)
        x = x[None] if x.ndim == 1 else x
        if x.ndim != 2 or not np.all(np.isfinite(x)):
            raise AudioError("NoteVAE needs finite mono waveforms", received=f"shape {x.shape}",
                             expected="[B, T] or [T] float32", fix="pass mono notes at the model's sample rate")
        n = self.padded_samples
        x = np.pad(x[:, :n], ((0, 0), (0, max(0, n - x.shape[1]))))
        return np.asarray(self.frontend(tf.constant(x)))

    def normalize(self, log_mel):
        return (log_mel - np.asarray(self.feature_mean, np.float32)) / np.asarray(self.feature_std, np.float32)

    def denormalize(self, features):
        """Normalized features -> log-mel (the vocoder's input scale)."""
        return (np.asarray(features, np.float32) * np.asarray(self.feature_std, np.float32)
                + np.asarray(self.feature_mean, np.float32))

    def features(self, waveforms) -> np.ndarray:
        """Normalized log-mel [B, num_frames, num_mel_bins]: the model's input."""
        return self.normalize(self.log_mel(waveforms)).astype(np.float32)

    def to_waveform(self, features) -> np.ndarray:
        """Waveforms [B, clip_samples] from normalized features [B, frames, mels] (Griffin-Lim; cropped,
        or zero-padded when num_frames covers less than clip_samples)."""
        log_mel = self.denormalize(features)
        log_mel = log_mel[None] if log_mel.ndim == 2 else log_mel
        audio = np.asarray(self.vocoder(tf.constant(log_mel)))[:, :self.clip_samples]
        return np.pad(audio, ((0, 0), (0, self.clip_samples - audio.shape[1])))  # few frames: silence after

    @staticmethod
    def band_statistics(log_mel) -> tuple[list, list]:
        """(mean, std) per mel band of un-normalized log-mel [N, frames, mels] (pass the training set's)."""
        x = np.asarray(log_mel, np.float64)
        if x.ndim != 3 or x.shape[0] < 1:
            raise ConfigError("band_statistics needs log-mel [N, frames, mels]", received=f"shape {x.shape}",
                              expected="[N, frames, mels]", fix="stack NoteVAE.log_mel outputs of the training notes")
        return x.mean(axis=(0, 1)).tolist(), np.maximum(x.std(axis=(0, 1)), 1e-3).tolist()

    # ------------------------------------------------------------------ the model
    def build(self, input_shape=None):
        # encode()/decode()/features() may have built a part already; build each once
        for layer, shape in ((self.encoder, (None, self.num_frames, self.num_mel_bins)),
                             (self.decoder, (None, self.latent_dim)), (self.frontend, (None, self.padded_samples))):
            if not layer.built:
                layer.build(shape)
        self.built = True

    def encode(self, features):
        """(mu, logvar) [B, latent_dim] of normalized features [B, frames, mels]."""
        return self.encoder(features)

    def decode(self, z):
        return self.decoder(z)

    def reparameterize(self, mu, logvar):
        eps = keras.random.normal(keras.ops.shape(mu), seed=self.noise)
        return mu + keras.ops.exp(0.5 * logvar) * eps

    def call(self, features, training=False):
        mu, logvar = self.encoder(features, training=training)
        return self.decoder(self.reparameterize(mu, logvar) if training else mu, training=training)

    def sample(self, num_samples: int, seed: int = 0) -> np.ndarray:
        """Decoded prior samples z ~ N(0, I): normalized features [num_samples, frames, mels]."""
        num_samples = positive_int(type(self).__name__, "num_samples", num_samples)
        z = np.random.default_rng(seed).standard_normal((num_samples, self.latent_dim)).astype(np.float32)
        return np.asarray(self.decode(z))

    def morph(self, note_a, note_b, steps: int = 7) -> tuple[np.ndarray, np.ndarray]:
        """Timbre morph: decode `steps` latents on the line from note_a's posterior mean to note_b's.

        note_a, note_b: normalized features [frames, mels] (e.g. two instruments at one pitch).
        Returns (features [steps, frames, mels], latents [steps, latent_dim]); the first and last
        step are the decodings of the two notes' posterior means.
        """
        steps = positive_int(type(self).__name__, "steps", steps, minimum=2)
        pair = np.stack([np.asarray(note_a, np.float32), np.asarray(note_b, np.float32)])
        if pair.shape[1:] != (self.num_frames, self.num_mel_bins):
            raise AudioError("morph needs two normalized log-mels", received=f"shapes {pair.shape[1:]}",
                             expected=f"({self.num_frames}, {self.num_mel_bins}) each",
                             fix="pass NoteVAE.features(waveform)[0] of each note")
        mu = np.asarray(self.encode(pair)[0])
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        z = (1.0 - t) * mu[0] + t * mu[1]
        z[0], z[-1] = mu[0], mu[1]  # exact endpoints, whatever the float rounding of the line
        return np.asarray(self.decode(z)), z

    # ------------------------------------------------------------------ training
    def compile(self, optimizer=None, **kwargs):
        kwargs.setdefault("jit_compile", False)  # XLA trains 2-3x slower on these CPUs (DESIGN.md 5)
        super().compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), **kwargs)
        if not self.built:
            self.build()

    def get_compile_config(self):
        return None  # the optimizer is not part of the artifact; compile() again to continue training

    @property
    def metrics(self):
        return list(self.trackers.values())

    def kl_weight(self):
        """beta_t: linear warm-up from 0 to beta over kl_warmup_steps optimizer steps."""
        if not self.kl_warmup_steps:
            return tf.constant(self.beta, tf.float32)
        step = tf.cast(self.optimizer.iterations, tf.float32) if self.optimizer is not None else 0.0
        return self.beta * tf.minimum(1.0, (step + 1.0) / float(self.kl_warmup_steps))

    def losses_for(self, features, training=True, beta=None):
        x = tf.cast(features, tf.float32)
        mu, logvar = self.encoder(x, training=training)
        z = self.reparameterize(mu, logvar) if training else mu
        x_hat = self.decoder(z, training=training)
        sse = tf.reduce_sum(tf.square(x - x_hat), axis=[1, 2])
        kl = kl_divergence(mu, logvar)
        beta = self.kl_weight() if beta is None else tf.constant(beta, tf.float32)
        loss = tf.reduce_mean(sse) + beta * tf.reduce_mean(kl)
        return {"loss": loss, "reconstruction_mse": tf.reduce_mean(sse) / float(self.num_frames * self.num_mel_bins),
                "kl": tf.reduce_mean(kl), "beta": beta}

    def train_step(self, data):
        features = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            logs = self.losses_for(features, training=True)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(logs["loss"], variables), variables))
        for name, tracker in self.trackers.items():
            tracker.update_state(logs[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        features = data[0] if isinstance(data, (tuple, list)) else data
        logs = self.losses_for(features, training=False, beta=self.beta)  # the full-beta objective
        for name, tracker in self.trackers.items():
            tracker.update_state(logs[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "sample_rate": self.sample_rate,
                "frame_length": self.frame_length, "frame_step": self.frame_step, "fft_length": self.fft_length,
                "num_mel_bins": self.num_mel_bins, "num_frames": self.num_frames, "clip_samples": self.clip_samples,
                "log_offset": self.log_offset, "latent_dim": self.latent_dim, "channels": self.channels,
                "beta": self.beta, "kl_warmup_steps": self.kl_warmup_steps, "feature_mean": self.feature_mean,
                "feature_std": self.feature_std, "griffin_lim_iterations": self.griffin_lim_iterations,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
