"""Errors a user can act on: each says what was received, what was expected, and how to fix it.

Library code raises these instead of asserting on user input; the CLI turns them into one clear
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class ZooError(Exception):
    """Base class. `received`, `expected` and `fix` are kept as attributes for programmatic use."""

    def __init__(self, what: str, *, received=None, expected=None, fix: str | None = None):
        self.what = what
        self.received = received
        self.expected = expected
        self.fix = fix
        parts = [what]
        if received is not None:
            parts.append(f"received: {received}")
        if expected is not None:
            parts.append(f"expected: {expected}")
        if fix:
            parts.append(f"fix: {fix}")
        super().__init__("; ".join(parts))


class AudioError(ZooError, ValueError):
    """Audio that cannot be read or does not meet a model's input contract."""


class PresetError(ZooError, KeyError):
    """Unknown preset, family or task name, or an inconsistent preset definition."""

    def __str__(self):  # KeyError would otherwise repr() the message
        return Exception.__str__(self)


class ConfigError(ZooError, ValueError):
    """Bad experiment or layer configuration (unknown key, wrong type, out of range)."""


class CheckpointError(ZooError, RuntimeError):
    """Missing, corrupt or mismatched checkpoint files (weights load strictly)."""


class DataError(ZooError, RuntimeError):
    """A corpus or manifest that is missing, incomplete, or cannot be generated here."""


class ExportError(ZooError, RuntimeError):
    """An export that cannot be written, fails its parity gate, or contains ops a runtime cannot run."""


class HubError(ZooError, RuntimeError):
    """A hub download that fails or does not verify (names the URL, expected and received sha256)."""
