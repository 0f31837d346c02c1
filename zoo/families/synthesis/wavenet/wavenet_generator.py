"""WaveNetGenerator: fast incremental generation with convolution queues (Paine et al. 2016).

Layer l with dilation d and kernel k needs its input x_l at times t - j d (j = 0 .. k - 1). A queue of
its last (k - 1) d inputs (oldest first) holds exactly those, so one new sample costs one matrix
product per layer instead of recomputing the receptive field; the state is the list of queues,
passed as explicit tensors (zeros at the start, as the causal padding of the full pass). The step
reads the backbone's own variables, so it produces the backbone's teacher-forced logits up to float
rounding. `generate_naive` is the reference: for every sample, run the backbone over a window of
frames covering the receptive field and keep the last logit.

Sampling uses the Gumbel-max trick with stateless noise keyed by (seed, t), so both generators draw
the same sample from (nearly) the same logits, and a seed reproduces a waveform exactly.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import AudioError, ConfigError
from zoo.families.synthesis.wavenet.mu_law import mu_law_decode


def sample_classes(logits, t, temperature=1.0, seed=0, greedy=False):
    """logits f32[B, Q] at step t -> i32[B]: argmax (greedy) or a sample of softmax(logits / temperature)."""
    if greedy:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    seed_pair = tf.stack([tf.cast(seed, tf.int32), tf.cast(t, tf.int32)])
    u = tf.random.stateless_uniform(tf.shape(logits), seed=seed_pair, minval=1e-7, maxval=1.0)
    gumbel = -tf.math.log(-tf.math.log(u))
    return tf.argmax(logits / temperature + gumbel, axis=-1, output_type=tf.int32)


class WaveNetGenerator:
    """Autoregressive sampling of a WaveNetBackbone, one sample per step in O(layers).

    API:
        conditioning(mel, speaker_id) -> f32[B, N, layers * 2C], every layer's conditioning per frame
        initial_state(batch_size) -> list of queues f32[B, (k - 1) d_l, C]
        step(classes_t i32[B], cond_t f32[B, layers * 2C], state) -> (logits f32[B, Q], new_state)
        generate(mel, speaker_id, ...) -> {"classes", "waveform"(, "logits")}
        generate_naive(mel, speaker_id, ...) -> the same, by full recomputation (slow reference)
    """

    def __init__(self, backbone):
        from zoo.families.synthesis.wavenet.wavenet_backbone import WaveNetBackbone

        if not isinstance(backbone, WaveNetBackbone):
            raise ConfigError("WaveNetGenerator needs a WaveNetBackbone", received=type(backbone).__name__,
                              expected="WaveNetBackbone", fix="pass the backbone (not a Task or a plain model)")
        self.backbone = backbone
        b = backbone
        self.hop_length = b.hop_length
        self.quantization_channels = b.quantization_channels
        self.residual_channels = b.residual_channels
        self.num_layers = b.num_layers
        self.dilations = [2 ** (i % b.layers_per_stack) for i in range(self.num_layers)]
        self.queue_lengths = [(b.kernel_size - 1) * d for d in self.dilations]
        self._step_graph = tf.function(self._step, reduce_retracing=True)
        self._generate_graph = tf.function(self._generate, reduce_retracing=True)
        self._window_graph = tf.function(self._window_logits, reduce_retracing=True)

    # --- weights, read from the backbone's variables at call time (training updates are seen) ---

    def _w(self, name, attr):
        return getattr(self.backbone.get_layer(name), attr)

    def conditioning(self, mel, speaker_id):
        """Every layer's conditioning per frame, concatenated: f32[B, N, layers * 2C]."""
        mel = tf.convert_to_tensor(mel, tf.float32)
        speaker_id = tf.convert_to_tensor(speaker_id, tf.int32)
        spk = tf.gather(self._w("speaker_embedding", "embeddings"), speaker_id)  # [B, S]
        parts = []
        for i in range(self.num_layers):
            m = tf.einsum("bnf,fc->bnc", mel, self._w(f"layer{i}_mel", "kernel")[0])
            parts.append(m + tf.matmul(spk, self._w(f"layer{i}_speaker", "kernel"))[:, None, :])
        return tf.concat(parts, axis=-1)

    def initial_state(self, batch_size: int = 1):
        return [tf.zeros([batch_size, n, self.residual_channels]) for n in self.queue_lengths]

    def _step(self, classes_t, cond_t, state):
        c, k = self.residual_channels, self.backbone.kernel_size
        x = tf.gather(self._w("input_embedding", "embeddings"), classes_t)  # [B, C]
        skip, new_state = None, []
        for i, (queue, d) in enumerate(zip(state, self.dilations)):
            p = f"layer{i}"
            taps = tf.concat([queue[:, j * d] for j in range(k - 1)] + [x], axis=-1)  # oldest tap first
            kernel = tf.reshape(self._w(f"{p}_dilated", "kernel"), [k * c, 2 * c])
            h = tf.matmul(taps, kernel) + self._w(f"{p}_dilated", "bias") + cond_t[:, i * 2 * c:(i + 1) * 2 * c]
            z = tf.tanh(h[:, :c]) * tf.sigmoid(h[:, c:])
            s = tf.matmul(z, self._w(f"{p}_skip", "kernel")[0]) + self._w(f"{p}_skip", "bias")
            skip = s if skip is None else skip + s
            new_state.append(tf.concat([queue[:, 1:], x[:, None, :]], axis=1))
            if i < self.num_layers - 1:
                x = x + tf.matmul(z, self._w(f"{p}_res", "kernel")[0]) + self._w(f"{p}_res", "bias")
        h = tf.nn.relu(skip)
        h = tf.nn.relu(tf.matmul(h, self._w("post", "kernel")[0]) + self._w("post", "bias"))
        return tf.matmul(h, self._w("logits", "kernel")[0]) + self._w("logits", "bias"), new_state

    def step(self, classes_t, cond_t, state):
        """One sample: the class of the previous sample i32[B] and this sample's conditioning
        f32[B, layers * 2C] (conditioning(...)[:, t // hop_length]) -> (logits f32[B, Q], new_state)."""
        return self._step_graph(tf.convert_to_tensor(classes_t, tf.int32), tf.convert_to_tensor(cond_t, tf.float32),
                                list(state))

    def _generate(self, cond, num_samples, temperature, seed, greedy, keep_logits):
        batch = tf.shape(cond)[0]
        state = self.initial_state(1)
        state = [tf.tile(q, [batch, 1, 1]) for q in state]
        prev = tf.fill([batch], tf.constant(self.backbone.start_class, tf.int32))
        classes = tf.TensorArray(tf.int32, size=num_samples)
        logits_out = tf.TensorArray(tf.float32, size=num_samples if keep_logits else 0, dynamic_size=True)
        for t in tf.range(num_samples):
            tf.autograph.experimental.set_loop_options(
                shape_invariants=[(q, tf.TensorShape([None, n, self.residual_channels]))
                                  for q, n in zip(state, self.queue_lengths)])
            logits, state = self._step(prev, cond[:, t // self.hop_length], state)
            prev = sample_classes(logits, t, temperature, seed, greedy)
            classes = classes.write(t, prev)
            if keep_logits:
                logits_out = logits_out.write(t, logits)
        out = {"classes": tf.transpose(classes.stack())}
        if keep_logits:
            out["logits"] = tf.transpose(logits_out.stack(), [1, 0, 2])
        return out

    def _check(self, mel, speaker_id, num_samples, temperature):
        mel = np.asarray(mel, np.float32)
        if mel.ndim != 3 or mel.shape[2] != self.backbone.num_mel_bins:
            raise AudioError("WaveNetGenerator needs a log-mel [batch, frames, mels]", received=f"shape {mel.shape}",
                             expected=f"[B, N, {self.backbone.num_mel_bins}]",
                             fix="pass clip_mel(waveforms) of synthesis_protocol")
        speaker_id = np.asarray(speaker_id, np.int32).reshape(-1)
        if speaker_id.shape[0] != mel.shape[0] or speaker_id.min() < 0 or \
                speaker_id.max() >= self.backbone.num_speakers:
            raise ConfigError("WaveNetGenerator speaker_id must hold one id per mel", received=speaker_id.tolist(),
                              expected=f"{mel.shape[0]} ids in [0, {self.backbone.num_speakers})")
        limit = mel.shape[1] * self.hop_length
        num_samples = limit if num_samples is None else num_samples
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or \
                not 1 <= num_samples <= limit:
            raise ConfigError("WaveNetGenerator num_samples out of range", received=repr(num_samples),
                              expected=f"1 .. frames * hop_length = {limit}", fix="pass more mel frames")
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or temperature <= 0:
            raise ConfigError("WaveNetGenerator temperature must be > 0", received=repr(temperature),
                              expected="e.g. 1.0 (greedy=True for argmax)")
        return mel, speaker_id, int(num_samples)

    def generate(self, mel, speaker_id, num_samples=None, temperature=1.0, seed=0, greedy=False,
                 return_logits=False):
        """Sample num_samples (default frames * hop_length) samples: {"classes" i32[B, T], "waveform"
        f32[B, T] (mu-law decoded)[, "logits" f32[B, T, Q]]} as numpy arrays."""
        mel, speaker_id, n = self._check(mel, speaker_id, num_samples, temperature)
        out = self._generate_graph(self.conditioning(mel, speaker_id), tf.constant(n, tf.int32),
                                   tf.constant(float(temperature)), tf.constant(int(seed), tf.int32),
                                   bool(greedy), bool(return_logits))
        return self._finish(out)

    def _finish(self, out):
        out = {k: np.asarray(v) for k, v in out.items()}
        out["waveform"] = mu_law_decode(out["classes"], self.quantization_channels)
        return out

    def _window_logits(self, inputs, mel, speaker_id, position):
        logits = self.backbone({"waveform_classes": inputs, "mel": mel, "speaker_id": speaker_id})["logits"]
        return logits[:, position]

    @property
    def window_frames(self) -> int:
        """Frames of the naive generator's window: enough that it always covers the receptive field."""
        return -(-(self.backbone.receptive_field - 1) // self.hop_length) + 1

    def generate_naive(self, mel, speaker_id, num_samples=None, temperature=1.0, seed=0, greedy=False,
                       return_logits=False):
        """The reference generator: for each sample, run the whole backbone over the window_frames frames
        that end at (or after) its frame and keep the logit of that sample (exact, as the window covers the
        receptive field and zero-pads like the full pass at the start). Costs one window forward pass per
        sample."""
        mel, speaker_id, n = self._check(mel, speaker_id, num_samples, temperature)
        hop, frames = self.hop_length, self.window_frames
        batch, total = mel.shape[0], mel.shape[1]
        mel = np.concatenate([mel, np.zeros((batch, frames, mel.shape[2]), np.float32)], axis=1)
        inputs = np.full((batch, (total + frames) * hop + 1), self.backbone.start_class, np.int32)
        classes, all_logits = np.zeros((batch, n), np.int32), []
        spk = tf.constant(speaker_id)
        for t in range(n):
            first = max(0, t // hop - frames + 1)
            window = tf.constant(inputs[:, first * hop:(first + frames) * hop])
            logits = self._window_graph(window, tf.constant(mel[:, first:first + frames]), spk,
                                        tf.constant(t - first * hop, tf.int32))
            sample = sample_classes(logits, t, float(temperature), int(seed), bool(greedy)).numpy()
            classes[:, t] = sample
            inputs[:, t + 1] = sample
            if return_logits:
                all_logits.append(logits.numpy())
        out = {"classes": classes}
        if return_logits:
            out["logits"] = np.stack(all_logits, axis=1)
        return self._finish(out)
