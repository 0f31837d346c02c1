"""TF-Serving-compatible serving of the zoo's SavedModels: `ModelServer` (gRPC + REST), `Client`.

Imports are lazy so `import serving` costs nothing (no work at import time)."""

from __future__ import annotations

__all__ = ["ModelServer", "Client"]


def __getattr__(name):
    if name == "ModelServer":
        from serving.server import ModelServer

        return ModelServer
    if name == "Client":
        from serving.client import Client

        return Client
    raise AttributeError(name)
