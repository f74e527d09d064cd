"""Assemble the NiceGUI app: REST API, pages and the services' lifecycle.

Called from main.py on every start (NiceGUI's test fixtures re-run main.py for each test).
"""

from __future__ import annotations

import json

from loguru import logger
from nicegui import app
from starlette.types import ASGIApp, Receive, Scope, Send

from . import services as services_module
from .api.app import ApiDispatch, build_api_app, is_api_path
from .core.config import API_PREFIX, Settings
from .runtime import client_ip, drain
from .runtime.metrics import METRICS_PATH, ConsoleMetrics
from .runtime.security_headers import SecurityHeaders
from .services import Services
from .ui.auth import install_page_guard
from .ui.live.hub import install as install_live_pages
from .ui.pages import routers as page_routers

STARTUP_WAIT_SECONDS = 90.0
PROBES = frozenset({f"{API_PREFIX}/health", METRICS_PATH})
"""Answered at once, even while starting (liveness: the process serves; a scrape shows what there is); /ready waits
for start-up like the rest."""


NICEGUI_INTERNALS = "/_nicegui"
"""NiceGUI's scripts, styles and socket.io: with the API's paths, what a draining instance goes on serving."""


class HoldUntilStarted:
    """ASGI middleware: requests wait for start-up (NiceGUI runs it as a background task), else get 503; a
    draining instance (SIGTERM, runtime/drain.py) answers new page requests 503 so the load balancer retries
    elsewhere."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"} and scope.get("path") not in PROBES:
            services = await services_module.wait_until_started(STARTUP_WAIT_SECONDS)
            problem = "the console is still starting" if services is None else services.startup_error
            if problem and scope["type"] == "http":
                await _unavailable(send, problem, "starting_up", retry_after=5)
                return
            if drain.current().active and scope["type"] == "http" and _is_page(scope["path"]):
                await _unavailable(send, "this instance is stopping", "draining", retry_after=1)
                return
        await self.inner(scope, receive, send)


def _is_page(path: str) -> bool:
    return not (is_api_path(path) or path.startswith(NICEGUI_INTERNALS))


async def _unavailable(send: Send, detail: str, code: str, *, retry_after: int) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"retry-after", str(retry_after).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_dispatch(api: ASGIApp, metrics: ConsoleMetrics | None = None, public_url: str | None = None) -> None:
    """Put the API app and the start-up hold in front of NiceGUI's middleware stack, whatever ui.run adds to it.

    Starlette builds the stack on the first request; wrapping the build (not the current stack) keeps this right
    when NiceGUI's test fixtures reset the stack between tests.
    """
    build_pages = type(app).build_middleware_stack

    def build() -> ASGIApp:
        stack: ASGIApp = HoldUntilStarted(ApiDispatch(api, build_pages(app)))
        stack = stack if metrics is None else metrics.middleware(stack)  # every HTTP request counted and timed
        return SecurityHeaders(stack, public_url)

    app.build_middleware_stack = build  # type: ignore[method-assign]
    app.middleware_stack = None


def _services_so_far() -> Services | None:
    """What /metrics reads at scrape time: the installed services as far as they have started (None before)."""
    try:
        return services_module.current()
    except RuntimeError:
        return None


def setup(settings: Settings, *, exit_on_failure: bool = False) -> None:
    """Register the API, pages and start/stop hooks on the global NiceGUI app.

    With ``exit_on_failure`` (``python main.py``), a start-up that fails for good stops what it started (the embedded
    Temporal server too) and the web server, so ``serve()`` exits with code 1: never a half-started console.
    """
    from .runtime.shared_state import configure_storage
    from .ui.shared_storage import install as install_shared_storage

    configure_storage(settings)  # user storage (sessions) in Redis when REDIS_URL is set, before the server starts
    install_shared_storage(settings)  # signed, pooled, without pub/sub (ui/shared_storage.py)
    lifespan = app.router.lifespan_context
    for router in page_routers():
        app.include_router(router)
    # include_router wraps the app's lifespan each time; setup() runs on every start (NiceGUI's test
    # fixtures re-run main.py per test), so keep the original or the nesting overflows the stack.
    app.router.lifespan_context = lifespan
    install_page_guard()
    client_ip.configure(settings.TRUSTED_PROXIES)  # core/ gets what it needs here, never from the services
    metrics = ConsoleMetrics(settings, parts=_services_so_far) if settings.METRICS_ENABLED else None  # GET /metrics
    install_live_pages(settings, metrics)
    install_dispatch(build_api_app(metrics), metrics, settings.PUBLIC_URL)
    drain.reset()

    async def startup() -> None:
        drain.install_sigterm_drain(settings.SHUTDOWN_GRACE_SECONDS)
        services = Services(settings)
        services_module.install(services)
        services_module.record_startup_failure(None)
        try:
            await services.start()
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            services.startup_error = f"start-up failed: {reason}"
            services_module.record_startup_failure(reason)
            logger.error("console start-up failed: {}", reason)
            await services.stop()
            if not exit_on_failure:
                raise
            logger.error("stopping the console: it cannot work without Temporal")
            app.shutdown()
        finally:
            services.started.set()

    async def shutdown() -> None:
        try:
            await services_module.current().stop()
        finally:
            services_module.install(None)

    app.on_startup(startup)
    app.on_shutdown(shutdown)
