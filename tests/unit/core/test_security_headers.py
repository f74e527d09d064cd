"""The security headers middleware: every answer gets them, HSTS only for an https PUBLIC_URL, an answer's own
value wins."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from release_console.runtime.security_headers import CONTENT_SECURITY_POLICY, SecurityHeaders


def _app(public_url: str | None) -> SecurityHeaders:
    async def plain(_request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def own(_request) -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    return SecurityHeaders(Starlette(routes=[Route("/", plain), Route("/own", own)]), public_url)


async def _get(public_url: str | None, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(public_url))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        return await client.get(path)


async def test_every_answer_gets_the_headers_and_hsts_only_over_https() -> None:
    plain = await _get("http://console.example", "/")
    assert plain.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["referrer-policy"] == "same-origin"
    assert plain.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in plain.headers
    secure = await _get("https://console.example", "/")
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_an_answers_own_header_is_kept_not_doubled() -> None:
    response = await _get(None, "/own")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
