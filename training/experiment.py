"""Typed experiment configuration (DESIGN.md 4.4): a dataclass, overridable with `--set key=value`."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ConfigError


@dataclass
class Experiment:
    preset: str
    data_root: str = "data"  # corpora and caches are generated under it
    output_dir: str = "runs"  # runs/<preset>/ holds checkpoints, curves, reports
    seed: int = 0
    epochs: int = 30
    batch_size: int = 100
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    dropout: float = 0.1
    unknown_ratio: float = 1.0  # the unknown class keeps at most this x the mean word-class count
    patience: int = 15  # early stopping on validation accuracy
    time_budget_min: float = 30.0  # stop (and keep the best checkpoint) after this much training
    augment: bool = True
    noise_prob: float = 0.8
    reverb_prob: float = 0.3
    spec_augment: bool = True
    snr_min_db: float = 0.0  # background noise SNR drawn from [snr_min_db, 25] dB
    time_mask_param: int = 10  # SpecAugment: widest time mask (frames) and frequency mask (bins)
    freq_mask_param: int = 7
    # Per-utterance VTLP warp factor and tempo factor, drawn uniformly from [1 - x, 1 + x] and applied
    # to the features (0 switches them off); only the sequence recogniser recipe reads them.
    freq_warp: float = 0.0
    tempo_perturb: float = 0.0
    # Largest gain (dB) of a random smooth spectral EQ added to each utterance's log-mel features (0: off);
    # only the sequence recogniser recipe reads it.
    spectral_eq_db: float = 0.0
    # Share of an auxiliary CTC loss on the encoder of an attention or RNN-T recogniser, through a
    # training-only output layer: (1 - w) * model loss + w * CTC (0: off); only that recipe reads it.
    aux_ctc_weight: float = 0.0
    # Training-only dropout on an RNN-T's prediction network (label embeddings and LSTM outputs; 0: off);
    # only the sequence recogniser recipe reads it.
    prediction_dropout: float = 0.0
    # Oversampling of the rarer TTS engines in the training split: an engine with n rows is repeated
    # round((n_max / n) ** x) times per pass (0: the corpus as it is; 1: every engine about equally often);
    # only the sequence recogniser recipe reads it.
    engine_balance: float = 0.0
    # Passes over each grammar-command row of the training split per pass over its free-text rows (1: the
    # corpus as it is); gives commands back their share on a free-text-rich corpus (full_free); only the
    # sequence recogniser recipe reads it.
    command_repeats: int = 1
    # Validation utterances decoded at each check-in of the sequence recogniser recipe, evenly spread over
    # the split's voices (more: a steadier choice of the best weights, slower check-ins; at least the
    # split's size: all of it); only that recipe reads it.
    checkin_utterances: int = 200
    corpus_scale: str = "full"
    resume: bool = True

    @classmethod
    def from_preset(cls, preset, overrides: dict | None = None, *, recipe: str = "",
                    reads: frozenset | None = None) -> "Experiment":
        """preset.training, then `overrides`. With `reads` (the settings the recipe named `recipe`
        uses, besides RUN_SETTINGS), a setting the recipe would silently ignore is an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(preset.training) - known)
        if unknown:
            raise ConfigError(f"preset {preset.name!r} has unknown training settings", received=unknown,
                              expected=", ".join(sorted(known - {"preset"})))
        exp = cls(preset=preset.name, **preset.training).with_overrides(overrides or {})
        if reads is None:
            return exp
        allowed = reads | RUN_SETTINGS
        unread = sorted(set(preset.training) - allowed)
        if unread:
            raise ConfigError(f"preset {preset.name!r} sets training settings that {recipe} does not read",
                              received=unread, expected=", ".join(sorted(allowed)))
        unread = sorted(set(overrides or {}) - allowed)
        if unread:
            raise ConfigError(f"{recipe} does not read {', '.join(map(repr, unread))}: the setting would have no "
                              "effect", received=unread, expected=", ".join(sorted(allowed)),
                              fix="drop it, or use the recipe that reads it")
        return exp

    def with_overrides(self, overrides: dict) -> "Experiment":
        hints = typing.get_type_hints(type(self))
        changes = {}
        for key, raw in overrides.items():
            if key not in hints or key == "preset":
                raise ConfigError(
                    f"unknown experiment setting {key!r}",
                    received=key,
                    expected=", ".join(sorted(k for k in hints if k != "preset")),
                )
            changes[key] = coerce_setting(key, raw, hints[key])
        return dataclasses.replace(self, **changes)

    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.preset

    def to_json(self, reads: frozenset | None = None) -> dict:
        """Every setting, or with `reads` only those a recipe uses (experiment.json shows no dead values)."""
        out = dataclasses.asdict(self)
        return out if reads is None else {k: v for k, v in out.items() if k in reads | RUN_SETTINGS | {"preset"}}

    def save(self, path: Path, reads: frozenset | None = None) -> None:
        Path(path).write_text(json.dumps(self.to_json(reads), indent=2) + "\n")


# Settings start_run itself reads for every recipe: where the corpus and the run live, the seed.
RUN_SETTINGS = frozenset({"data_root", "output_dir", "seed", "corpus_scale"})


def coerce_setting(key, raw, typ):
    """A `--set KEY=raw` string as `typ` (bool accepts true/false, yes/no, on/off, 1/0), else a ConfigError."""
    if not isinstance(raw, str):
        return raw
    try:
        if typ is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if typ in (int, float, str):
            return typ(raw)
    except ValueError:
        pass
    else:
        raise ConfigError(f"setting {key!r} has an unsupported type {typ}")
    raise ConfigError(f"bad value for {key!r}", received=raw, expected=typ.__name__,
                      fix=f"e.g. --set {key}=" + {bool: "true", int: "10", float: "0.5"}.get(typ, "text"))


def parse_set_args(items) -> dict:
    """["epochs=3", "learning_rate=1e-3"] -> {"epochs": "3", ...} (typed later by Experiment)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError("--set needs key=value", received=item, expected="key=value, e.g. epochs=3")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out
