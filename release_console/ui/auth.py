"""Console sessions: the page guard, the signed-in user, login/logout and session expiry.

A session lives in ``app.storage.user`` (server side, keyed by NiceGUI's signed, HttpOnly, SameSite=Lax session
cookie). It records who logged in, when, and when they were last active; it ends after SESSION_MAX_AGE_SECONDS, after
SESSION_IDLE_SECONDS without a page request (an open tab's timer is not activity), when the account is disabled,
deleted or its password is changed; an admin page open in a tab is withdrawn when its user is demoted.
Every check uses the in-memory accounts cache (no Temporal call) and the accounts service's clock (injectable).
Open pages re-check on a timer (the "refresh tick") and go to the login page when the session has ended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import Client, app, context, ui
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from .. import services as services_module
from ..accounts.models import Principal
from ..accounts.service import AccountsService
from ..core.audit import audit, safe_request_id
from ..core.config import Settings

SESSION_KEY = "session"
LOGIN_PATH = "/login"
PUBLIC_PREFIXES = ("/_nicegui", "/api/", "/docs", "/redoc", "/openapi.json", "/favicon", "/static/")
PASSWORD_CHANGE_SKEW_SECONDS = 5
ADMIN_PAGE_KEY = "requires_admin"


def session_middleware_kwargs(settings: Settings) -> dict[str, Any]:
    """Cookie options for ``ui.run(session_middleware_kwargs=...)``: SameSite=Lax, Secure when served over HTTPS."""
    https = bool(settings.PUBLIC_URL and settings.PUBLIC_URL.lower().startswith("https://"))
    return {"same_site": "lax", "https_only": https}


def safe_redirect(target: str | None) -> str:
    """Only same-site paths (never another host) are accepted as redirect targets."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or target.startswith(LOGIN_PATH):
        return "/"
    return target


def is_public(path: str) -> bool:
    """Paths that need no console session (the login page, NiceGUI internals, the bearer-token API, API docs)."""
    return path == LOGIN_PATH or path.startswith(PUBLIC_PREFIXES)


def _accounts() -> AccountsService | None:
    try:
        return services_module.current().accounts
    except RuntimeError:
        return None


def validate_session(session: dict[str, Any] | None, accounts: AccountsService | None) -> Principal | None:
    """The session's user while the session is valid; None once it expired or the account lost access."""
    if not session or accounts is None:
        return None
    settings = accounts.settings
    now = accounts.clock()
    try:
        login_at, seen_at, username = float(session["login_at"]), float(session["seen_at"]), str(session["username"])
    except (KeyError, TypeError, ValueError):
        return None
    if now - login_at > settings.SESSION_MAX_AGE_SECONDS or now - seen_at > settings.SESSION_IDLE_SECONDS:
        return None
    principal = accounts.principal(username)
    if principal is None:
        return None
    changed_at = accounts.users[principal.username].password_changed_at
    if changed_at and login_at + PASSWORD_CHANGE_SKEW_SECONDS < datetime.fromisoformat(changed_at).timestamp():
        return None
    return principal


def current_user() -> Principal | None:
    """The signed-in user of the page in context, or None (RuntimeError outside a page's context)."""
    return validate_session(app.storage.user.get(SESSION_KEY), _accounts())


def start_session(principal: Principal) -> None:
    """Record a successful login in the browser's session."""
    accounts = _accounts()
    now = accounts.clock() if accounts else 0.0
    app.storage.user[SESSION_KEY] = {
        "username": principal.username,
        "role": principal.role,
        "login_at": now,
        "seen_at": now,
    }


def client_address() -> str | None:
    """The address of the browser of the page in context."""
    request = context.client.request if context.client else None
    return request.client.host if request is not None and request.client else None


def logout() -> None:
    """End the session and go to the login page."""
    session = app.storage.user.pop(SESSION_KEY, None) or {}
    audit(
        "logout",
        user=session.get("username"),
        role=session.get("role"),
        target="ui",
        outcome="ok",
        client=client_address(),
    )
    ui.navigate.to(LOGIN_PATH)


def mark_admin_page() -> None:
    """Tell the refresh tick that the page in context is for admins: a user demoted while it is open is sent
    to the refusal at the next tick (each admin action also re-checks the role when it runs)."""
    context.client.storage[ADMIN_PAGE_KEY] = True


def _login_redirect(path: str) -> str:
    return f"{LOGIN_PATH}?redirect_to={quote(path, safe='')}"


class PageGuard(BaseHTTPMiddleware):
    """Redirects page requests without a valid session to the login page; audit-logs every page view."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if is_public(path):
            return await call_next(request)
        storage = app.storage.user
        accounts = _accounts()
        session = storage.get(SESSION_KEY)
        user = validate_session(session, accounts)
        wanted = path + (f"?{request.url.query}" if request.url.query else "")
        address = request.client.host if request.client else None
        if user is None:
            if session:
                storage.pop(SESSION_KEY, None)
                audit("session.ended", user=session.get("username"), role=session.get("role"), target=wanted,
                      outcome="expired", client=address)
            return RedirectResponse(_login_redirect(wanted), status_code=303)
        session["seen_at"] = accounts.clock() if accounts else 0.0  # a page request is activity
        storage[SESSION_KEY] = session
        audit("page.view", user=user.username, role=user.role, target=wanted, outcome="ok", client=address,
              request_id=safe_request_id(request.headers.get("x-request-id")))
        return await call_next(request)


def _watch_session(client: Client) -> None:
    """On every page connection: a timer that ends the page's session as soon as it is no longer valid.

    The timer only checks (expiry, idle time, lost access); it never counts as activity and never writes the
    session, so an open tab without page requests idles out after SESSION_IDLE_SECONDS.
    """
    request = client.request
    if request is None or is_public(request.url.path) or client.storage.get("session_watch"):
        return
    client.storage["session_watch"] = True
    storage = app.storage.user
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    accounts = _accounts()
    interval = accounts.settings.ACCOUNTS_REFRESH_SECONDS if accounts else 2.0

    def check() -> None:
        session = storage.get(SESSION_KEY)
        user = validate_session(session, _accounts())
        if user is None:
            timer.cancel()
            if session:
                storage.pop(SESSION_KEY, None)
                audit("session.ended", user=session.get("username"), role=session.get("role"), target=path,
                      outcome="expired", client=request.client.host if request.client else None)
            ui.navigate.to(_login_redirect(path))
        elif client.storage.get(ADMIN_PAGE_KEY) and not user.is_admin:
            timer.cancel()
            ui.navigate.to(path)  # drawn again for a viewer: the refusal (and its page.denied audit line)

    with client:
        timer = ui.timer(interval, check)


def install_page_guard() -> None:
    """Add the guard middleware and the per-page session watch (called on every app setup)."""
    app.add_middleware(PageGuard)
    app.on_connect(_watch_session)
