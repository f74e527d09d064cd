"""GET /metrics: the console's Prometheus metrics (outside /api/v1 and its OpenAPI schema).

With METRICS_TOKEN set, the scrape must send ``Authorization: Bearer <token>``; anything else gets the API's JSON 401.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...runtime.metrics import CONTENT_TYPE, METRICS_PATH, ConsoleMetrics
from ..errors import error_response

BEARER = b"bearer "


def token_matches(authorization: str | None, expected: bytes) -> bool:
    """True when the header is ``Bearer <expected>`` (compared in constant time)."""
    if not authorization:
        return False
    raw = authorization.encode("latin-1", "replace")  # Starlette decodes header bytes as latin-1
    if raw[: len(BEARER)].lower() != BEARER:
        return False
    return secrets.compare_digest(raw[len(BEARER) :].strip(), expected)


def metrics_router(metrics: ConsoleMetrics) -> APIRouter:
    """The /metrics route of one app, serving ``metrics``."""
    router = APIRouter(include_in_schema=False)
    expected = metrics.token.encode() if metrics.token is not None else None

    @router.get(METRICS_PATH, include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus text format."""
        if expected is not None and not token_matches(request.headers.get("authorization"), expected):
            return error_response(401, "not_authenticated", "a valid metrics token is required",
                                  {"WWW-Authenticate": "Bearer"})
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return router
