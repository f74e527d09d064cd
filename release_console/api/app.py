"""The REST API as its own FastAPI app, served in the console's process past NiceGUI's page middleware.

Pages need NiceGUI's session, request-tracking, gzip and cache middleware; API calls need none of it, and paid for
it on every request (about a fifth of the server's capacity). :class:`ApiDispatch` sends ``/api/…``, ``/docs`` and
``/metrics`` straight to this app; everything else goes through NiceGUI's stack. Both share one process, one event
loop and the same running services (mirrors, accounts).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.config import API_PREFIX
from ..runtime.metrics import METRICS_PATH, ConsoleMetrics
from .docs import api_schema, install_api
from .main import RESOURCE_ROUTERS
from .routes.metrics import metrics_router

API_PATHS = (f"{API_PREFIX.rsplit('/', 1)[0]}/", "/docs")
"""Path prefixes answered by the API app (``/api/`` and the offline Swagger UI)."""


def build_api_app(metrics: ConsoleMetrics | None = None) -> FastAPI:
    """A FastAPI app with every /api/v1 route, the API's JSON error handlers, the offline docs and, given
    ``metrics``, GET /metrics (outside the schema)."""
    api = FastAPI(title="Release Console API", docs_url=None, redoc_url=None, openapi_url=None)
    for router in RESOURCE_ROUTERS:
        api.include_router(router, prefix=API_PREFIX)
    install_api(api)
    api.openapi = api_schema  # type: ignore[method-assign]  # the one document, as /api/v1/openapi.json serves it
    if metrics is not None:
        api.include_router(metrics_router(metrics))
    return api


def is_api_path(path: str) -> bool:
    """True for paths the API app answers."""
    return path.startswith(API_PATHS) or path == API_PATHS[0].rstrip("/") or path == METRICS_PATH


class ApiDispatch:
    """ASGI: HTTP requests for the API go to ``api``; everything else (pages, websockets, lifespan) to ``pages``."""

    def __init__(self, api: ASGIApp, pages: ASGIApp) -> None:
        self.api = api
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            await self.api(scope, receive, send)
        else:
            await self.pages(scope, receive, send)
