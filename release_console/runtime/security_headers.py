"""Security headers on every HTTP answer (pages, API, docs, assets).

The Content-Security-Policy is as tight as NiceGUI allows: NiceGUI's page carries its element tree in an inline
script and Vue compiles the components' templates in the browser, so scripts need ``'unsafe-inline'`` and
``'unsafe-eval'``; everything else comes from the console itself. No page may be framed (clickjacking). HSTS is
sent when PUBLIC_URL is https. An answer that already sets one of these headers keeps its own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(public_url: str | None) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (HSTS only for an https PUBLIC_URL)."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]
    if public_url and public_url.lower().startswith("https://"):
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response start."""

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        self.app = app
        self.headers = security_headers(public_url)
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])} & self.names
                extra = [h for h in self.headers if h[0] not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
