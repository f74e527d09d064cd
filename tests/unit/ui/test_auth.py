"""Session cookie options."""

from __future__ import annotations


async def test_session_cookie_is_secure_when_the_public_url_is_https() -> None:
    import httpx
    from starlette.applications import Starlette
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from release_console.core.config import Settings
    from release_console.ui.auth import session_middleware_kwargs

    def touch(request: Request) -> PlainTextResponse:
        request.session["seen"] = True
        return PlainTextResponse("ok")

    for public_url, secure in (("https://console.example.com", True), ("http://localhost:8080", False), (None, False)):
        kwargs = session_middleware_kwargs(Settings(PUBLIC_URL=public_url))
        app = Starlette(routes=[Route("/", touch)])
        app.add_middleware(SessionMiddleware, secret_key="k" * 40, **kwargs)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            cookie = (await http.get("/")).headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure, (public_url, cookie)
        assert "httponly" in cookie and "samesite=lax" in cookie
