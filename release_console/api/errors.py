"""Error responses of the REST API: always JSON ``{"detail": ..., "code": ...}``, never a stack trace.

Every error raised on purpose is a :class:`~release_console.core.errors.ConsoleError` (the read path's, the
accounts', the notifications' errors, the API's own :class:`ApiError`, the services not running yet) and gets one
handler, with the headers the error asks for (``http_headers()``: Retry-After on 503s and 429s, WWW-Authenticate on
a failed login); routes never translate one error into another. Handlers
only reshape errors under /api; pages keep NiceGUI's own handling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from loguru import logger
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..core.config import API_PREFIX
from ..core.errors import ConsoleError

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_parameter",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(ConsoleError):
    """An error a route raises on purpose: status, stable code, message, its own headers and optional extra fields."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: object):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.extra = status, code, detail, headers, extra

    def http_headers(self) -> dict[str, str] | None:
        """Exactly the headers the route gave."""
        return self.headers


def invalid(detail: str, code: str = "invalid_parameter") -> ApiError:
    """A 422 for a malformed id or parameter."""
    return ApiError(422, code, detail)


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: object
) -> Response:
    """The JSON error body used by every API error."""
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status, headers=headers)


def console_error_response(exc: ConsoleError) -> Response:
    """A ConsoleError as a response: its status, code, message, headers (Retry-After) and extra fields."""
    return error_response(exc.status, exc.code, exc.message, exc.http_headers(), **exc.extra)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def allowed_methods(request: Request) -> str | None:
    """The ``Allow`` of a 405: every method of the path the request matched (the first route whose path matches,
    as the router picks it, and every route with the same path template), not only the first route's own."""
    routes = iter_route_contexts(getattr(request.app, "routes", ()))  # included routers' routes, as dispatched
    template = None
    methods: set[str] = set()
    for route in routes:
        path_format = getattr(route, "path_format", None)
        if template is None and path_format is not None:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                template = path_format
        if template is not None and path_format == template:
            methods |= set(getattr(route, "methods", None) or ())
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))) or None


def register_error_handlers(app: FastAPI) -> None:
    """Install the API's exception handlers on the app (page requests fall through to NiceGUI's)."""
    # Any: Starlette types a handler as sync or async; NiceGUI's page handlers, kept here, are async
    existing: Any = app.exception_handlers.get(Exception)
    # setup() runs again for every test on the same app: keep NiceGUI's page handler, not our previous one
    page_500: Callable[[Request, Exception], Awaitable[Response]] | None = getattr(existing, "page_500", existing)

    async def on_console_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleError)
        return console_error_response(exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _is_api(request):
            return await request_validation_exception_handler(request, exc)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300], "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"]) or "request"
        return error_response(422, "invalid_parameter", f"{where}: {first['msg']}", errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and _is_api(request):
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return error_response(exc.status_code, code, detail, headers or None)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if _is_api(request):
            logger.opt(exception=exc).error("unexpected error on {} {}", request.method, request.url.path)
            return error_response(500, "internal_error", "internal error; it has been logged")
        if page_500 is not None:
            return await page_500(request, exc)
        raise exc

    on_unexpected.page_500 = page_500  # type: ignore[attr-defined]
    existing_404: Any = app.exception_handlers.get(404)  # Any: as ``existing`` above
    page_404: Callable[[Request, Exception], Awaitable[Response]] | None
    page_404 = getattr(existing_404, "page_404", existing_404)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        if _is_api(request) and isinstance(exc, StarletteHTTPException):
            return await on_http_error(request, exc)
        if page_404 is not None:
            return await page_404(request, exc)
        return error_response(404, "not_found", "not found")

    on_not_found.page_404 = page_404  # type: ignore[attr-defined]
    app.add_exception_handler(404, on_not_found)
    app.add_exception_handler(ConsoleError, on_console_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
