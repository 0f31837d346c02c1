"""ServingError: a request the server refuses, with the gRPC status code it maps to."""

from __future__ import annotations

from zoo.errors import ZooError

# gRPC status name -> REST status (TF Serving's mapping, plus 413 for oversized bodies).
HTTP_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "NOT_FOUND": 404,
               "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503, "UNIMPLEMENTED": 501,
               "DEADLINE_EXCEEDED": 504, "CANCELLED": 499, "INTERNAL": 500, "UNKNOWN": 500}


class ServingError(ZooError):
    """`code` is a grpc.StatusCode name ("INVALID_ARGUMENT", "NOT_FOUND", ...)."""

    def __init__(self, code: str, what: str, *, http_status: int | None = None, **kwargs):
        self.code = code
        self._http_status = http_status
        super().__init__(what, **kwargs)

    @property
    def http_status(self) -> int:
        return self._http_status or HTTP_STATUS.get(self.code, 500)
