"""The one error base with an HTTP face: the read path's, the accounts', the notifications' errors, the services'
NotStarted and the API's own all derive from it, and the API answers all of them with one handler (api/errors.py):
JSON ``{"detail": ..., "code": ...}`` with the headers ``http_headers()`` gives (Retry-After on 503s).

A new error with its own status and code derives from :class:`ConsoleError` (never a second hierarchy translated at
the edge)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType


class ConsoleError(Exception):
    """A problem with an HTTP status, a stable code, a message that is safe to show (``str(err)``) and, when known,
    how long to wait before trying again."""

    code: str = "error"
    status: int = 500
    extra: Mapping[str, object] = MappingProxyType({})
    """More fields of the JSON answer."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after

    def http_headers(self) -> dict[str, str] | None:
        """Headers of the answer: Retry-After in whole seconds (at least 1) when known, 5 for a 503 without one."""
        if self.retry_after:
            return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}
        if self.status == 503:
            return {"Retry-After": "5"}
        return None
