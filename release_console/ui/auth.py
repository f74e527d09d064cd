"""Console sessions: the page guard, the signed-in user, login/logout and session expiry.

A session lives in ``app.storage.user`` (server side, keyed by NiceGUI's signed, HttpOnly, SameSite=Lax session
cookie). It records who logged in, when, and when they were last active; it ends after SESSION_MAX_AGE_SECONDS, after
SESSION_IDLE_SECONDS without activity (a page request, an interaction, a visible tab: ui/session_keepalive.py; an
open hidden tab's timer is not activity), when the account is disabled, deleted or its password is changed; an admin
page open in a tab is withdrawn when its user is demoted.
Every check uses the in-memory accounts cache (no Temporal call) and the accounts service's clock (injectable).
Open pages re-check on a timer (the "refresh tick"); when the session has ended they go to the login page and the
page's connection is closed, so nothing more reaches that tab.

The browser gets a new session id at login and at logout (against session fixation): a login in the page hands a
one-time ticket, bound to the page's session id, to SESSION_PATH, which moves the session to a fresh id (a new
cookie) and empties the old id's storage; logout ends the session and goes through SESSION_PATH for a fresh id too.

With Redis (REDIS_URL) ``app.storage.user`` is a signed record in Redis (ui/shared_storage.py): every instance with
the same SECRET_KEY reads the same session for a cookie; the page guard reloads it on every page request and open
pages follow it on the refresh tick, so a logout on one instance ends the session on all, and a logged-out session
cannot be written back. Login tickets are kept in Redis too, signed (one use, on any instance; this instance's
memory only while Redis fails), so the step after a login may reach any instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from loguru import logger
from nicegui import Client, app, background_tasks, context, core, ui
from nicegui import storage as nicegui_storage
from nicegui.persistence import PersistentDict
from redis.asyncio import Redis
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from .. import services
from ..accounts import admin as account_admin
from ..accounts.errors import AccountError
from ..accounts.models import Principal
from ..accounts.service import AccountsService
from ..contract.shapes import JsonObject
from ..core.config import Settings
from ..runtime import shared_state
from ..runtime.audit import audit, audit_repeated, safe_request_id
from ..runtime.client_ip import connection_client
from ..runtime.metrics import METRICS_PATH
from ..sso.provider import CALLBACK_PATH, START_PATH
from .live.hub import hub
from .session_keepalive import PageStorage, SessionKeepalive
from .shared_storage import SESSION_COOKIE, SharedStorage, signed, verified

SESSION_KEY = "session"
LOGIN_PATH = "/login"
SESSION_PATH = "/login/session"
SSO_PATHS = (START_PATH, CALLBACK_PATH)
PUBLIC_PREFIXES = ("/_nicegui", "/api/", "/docs", "/redoc", "/openapi.json", "/favicon", "/static/")
ADMIN_PAGE_KEY = "requires_admin"
SESSION_CHECKS_KEY = "session_checks"
"""How many times an open page's refresh tick has checked its session (``client.storage``; tests wait on it)."""
STOP_WATCH_KEY = "stop_session_watch"
"""The page's hold on its session check (``client.storage``): a page that leaves stops it first."""
TICKET_SECONDS = 60.0
MAX_TICKETS = 10_000
MAX_REDIRECT_LENGTH = 2048
DISCONNECT_GRACE_SECONDS = 1.0


def session_middleware_kwargs(settings: Settings) -> dict[str, str | bool]:
    """Cookie options for ``ui.run(session_middleware_kwargs=...)``: SameSite=Lax, Secure when served over HTTPS."""
    https = bool(settings.PUBLIC_URL and settings.PUBLIC_URL.lower().startswith("https://"))
    return {"same_site": "lax", "https_only": https}


def safe_redirect(target: str | None) -> str:
    """``target`` when it is a path on this console, otherwise ``/``.

    Refused: anything not starting with exactly one ``/`` (``//host`` and schemes), backslashes and control
    characters (browsers drop tabs and newlines, so ``/\t/example.org`` would become ``//example.org``), over-long
    targets and the login pages themselves.
    """
    if not target or len(target) > MAX_REDIRECT_LENGTH or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(c == "\\" or (c.isspace() and c != " ") or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith(LOGIN_PATH):
        return "/"
    return target


def is_public(path: str) -> bool:
    """Paths that need no console session (the login pages, NiceGUI internals, the bearer-token API, API docs)."""
    return path in {LOGIN_PATH, SESSION_PATH, METRICS_PATH, *SSO_PATHS} or path.startswith(PUBLIC_PREFIXES)


def _accounts() -> AccountsService | None:
    try:
        return services.running().accounts
    except services.NotStarted:
        return None


def validate_session(session: JsonObject | None, accounts: AccountsService | None) -> Principal | None:
    """The session's user while the session is valid; None once it expired (age, idle time: session rules) or the
    account lost access (the accounts' one rule, :meth:`AccountsService.check`, with the login time)."""
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
    return accounts.check(username, login_at)


def _page_storage() -> PersistentDict:
    """``app.storage.user`` of the page in context: the storage of its own request's session id.

    NiceGUI runs an event handler with its page's request in context; saying so here keeps any handler (also those
    run by NiceGUI's simulated user, which keeps the test's context) from reading another session id's storage.
    """
    request = context.client.request
    if request is not None:
        nicegui_storage.request_contextvar.set(request)
    return app.storage.user


def current_user() -> Principal | None:
    """The signed-in user of the page in context, or None (RuntimeError outside a page's context)."""
    return validate_session(_page_storage().get(SESSION_KEY), _accounts())


def current_session() -> JsonObject | None:
    """The page's session record (username, role, login_at, seen_at), or None."""
    session = _page_storage().get(SESSION_KEY)
    return session if isinstance(session, dict) else None


def current_username() -> str | None:
    """The name of the page's signed-in user (what the read path charges its quotas to), or None."""
    user = current_user()
    return user.username if user is not None else None


@dataclass(frozen=True)
class _Ticket:
    session_id: str
    username: str
    role: str
    target: str
    created: float
    authenticated_at: float
    """When the password was checked (the accounts' clock): the session's login time, so a ticket redeemed after a
    password reset or a "sign out everywhere" starts no session."""
    method: str = "password"
    """How the user signed in: ``password`` or ``oidc``."""
    end_session_url: str | None = None
    """After a single sign-on: where logout sends the browser to end the provider's session too."""


_tickets: dict[str, _Ticket] = {}
_ticket_writes: dict[str, asyncio.Task] = {}  # tickets whose copy in Redis is being written
_memory_only: set[str] = set()  # tickets Redis did not take (it was down): valid on this instance only


def begin_session(principal: Principal, target: str, *, request: Request | None = None, method: str = "password",
                  end_session_url: str | None = None) -> str:
    """After a successful login (in the page in context, or the single sign-on callback ``request``): the URL that
    starts the session under a new id.

    The URL carries a one-time ticket that expires after TICKET_SECONDS and only works with the session cookie of
    the browser that logged in; the session is never stored under the id the browser had before login.
    With Redis (REDIS_URL) the ticket is kept there too, so SESSION_PATH may be served by any instance.
    """
    now = time.monotonic()
    for key in [k for k, t in _tickets.items() if now - t.created > TICKET_SECONDS]:
        del _tickets[key]
    if len(_tickets) >= MAX_TICKETS:
        _tickets.clear()
    _memory_only.intersection_update(_tickets)
    ticket = secrets.token_urlsafe(32)
    session_id = str((request or context.client.request).session.get("id", ""))
    authenticated_at = principal.authenticated_at  # when the credentials were checked
    _tickets[ticket] = _Ticket(session_id, principal.username, principal.role, safe_redirect(target), now,
                               authenticated_at, method, end_session_url)
    if (redis := _shared_redis()) is not None:
        task = background_tasks.create(_store_ticket(redis, ticket, _tickets[ticket]), name="store login ticket")
        _ticket_writes[ticket] = task
        task.add_done_callback(lambda _: _ticket_writes.pop(ticket, None))
    return f"{SESSION_PATH}?ticket={ticket}"


def _shared_redis() -> Redis | None:
    """The Redis shared by the instances (accounts/service.py owns the client), or None without REDIS_URL."""
    accounts = _accounts()
    return accounts.redis if accounts is not None else None


def _ticket_key(ticket: str) -> str:
    digest = hashlib.sha256(ticket.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{shared_state.key_prefix()}login-ticket:{digest}"


async def _store_ticket(redis: Redis, ticket: str, pending: _Ticket) -> None:
    data = json.dumps({"session_id": pending.session_id, "username": pending.username, "role": pending.role,
                       "target": pending.target, "authenticated_at": pending.authenticated_at,
                       "method": pending.method, "end_session_url": pending.end_session_url})
    key = _ticket_key(ticket)
    try:
        await redis.set(key, signed(key, data), px=int(TICKET_SECONDS * 1000))
    except shared_state.ERRORS as exc:
        _memory_only.add(ticket)
        logger.warning("login ticket kept in this instance only, Redis failed: {}", type(exc).__name__)


async def _find_ticket(ticket: str) -> tuple[_Ticket | None, bool]:
    """The pending login of a ticket, and whether it came from Redis (then Redis decides whether it is unused).

    Without Redis, or while Redis fails, this instance's memory; with Redis, Redis (a ticket used on another
    instance is gone there, even if this instance still holds it)."""
    local = _tickets.get(ticket)
    redis = _shared_redis()
    if redis is None or not ticket or len(ticket) > 128:
        return local, False
    if (write := _ticket_writes.get(ticket)) is not None:
        await asyncio.shield(write)  # this instance's own copy lands before it is looked up
    try:
        raw = await redis.get(_ticket_key(ticket))
    except shared_state.ERRORS as exc:
        logger.warning("login ticket looked up in this instance only, Redis failed: {}", type(exc).__name__)
        return local, False
    if raw is None:
        return (local, False) if ticket in _memory_only else (None, False)
    data = verified(_ticket_key(ticket), raw)  # a ticket written without SECRET_KEY is no ticket
    if data is None:
        return None, False
    try:
        stored = json.loads(data)
        found = _Ticket(str(stored["session_id"]), str(stored["username"]), str(stored["role"]),
                        safe_redirect(str(stored["target"])), time.monotonic(),  # Redis expires it in time
                        float(stored["authenticated_at"]), str(stored.get("method", "password")),
                        _optional_str(stored.get("end_session_url")))
    except (ValueError, KeyError, TypeError):
        return None, False
    return found, True


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def _use_ticket(ticket: str, from_redis: bool) -> bool:
    """Mark the ticket used; False when another request (on any instance) used it first."""
    _tickets.pop(ticket, None)
    _memory_only.discard(ticket)
    if not from_redis:
        return True
    redis = _shared_redis()
    assert redis is not None  # the ticket came from it (accounts keep their client until they stop)
    try:
        return bool(await redis.delete(_ticket_key(ticket)))
    except shared_state.ERRORS:
        return False


async def _rotate_session_id(request: Request) -> None:
    """Give the browser a new session id (a new cookie in this response) and empty the old id's storage; the
    preferences kept there (e.g. dark mode), never a session, move to the new id.

    Uses NiceGUI's user-storage registry, keyed by ``request.session['id']`` (nicegui.storage).
    """
    old = request.session.get("id")
    new = str(uuid.uuid4())
    await app.storage._create_user_storage(new)  # NiceGUI has no public API to re-key a session
    request.session["id"] = new
    old_storage = app.storage._users.get(old) if old else None
    if old_storage is not None:
        app.storage.user.update({k: v for k, v in old_storage.items() if k != SESSION_KEY})
        old_storage.clear()


async def session_route(request: Request, ticket: str = "") -> RedirectResponse:
    """SESSION_PATH: with a login ticket, start the session under a new id and go to the page asked for; without
    one (after logout), give a browser that has no session a new id and go to the login page."""
    if not ticket:
        if SESSION_KEY not in app.storage.user:  # never ends a live session (a link from elsewhere cannot log out)
            await _rotate_session_id(request)
        return RedirectResponse(LOGIN_PATH, status_code=303)
    pending, from_redis = await _find_ticket(ticket)
    fresh = pending is not None and time.monotonic() - pending.created <= TICKET_SECONDS
    if (pending is None or not fresh or pending.session_id != str(request.session.get("id", ""))
            or not await _use_ticket(ticket, from_redis)):
        audit_repeated("login.ticket_refused", user=pending.username if pending else None, role=None,
                       target=SESSION_PATH, outcome="denied", client=connection_client(request),
                       reason="expired" if pending and not fresh else "unknown ticket or another browser")
        return RedirectResponse(LOGIN_PATH, status_code=303)
    await _rotate_session_id(request)
    accounts = _accounts()
    now = accounts.clock() if accounts else 0.0
    session = {"username": pending.username, "role": pending.role, "login_at": pending.authenticated_at,
               "seen_at": now, "method": pending.method}
    if pending.end_session_url:
        session["end_session_url"] = pending.end_session_url
    app.storage.user[SESSION_KEY] = session
    await shared_state.written(app.storage.user)  # in Redis before the browser's next request (any instance)
    return RedirectResponse(pending.target, status_code=303)


def client_address() -> str | None:
    """The address of the browser of the page in context (X-Forwarded-For only from TRUSTED_PROXIES)."""
    return connection_client(context.client.request if context.client else None)


def logout() -> None:
    """End the session and go to the login page through SESSION_PATH, which gives the browser a new id; after a
    single sign-on, through the provider's end-session page first (it comes back to SESSION_PATH)."""
    session = _page_storage().pop(SESSION_KEY, None) or {}
    audit(
        "logout",
        user=session.get("username"),
        role=session.get("role"),
        target="ui",
        outcome="ok",
        client=client_address(),
        method=session.get("method", "password"),
    )
    _leave_page(context.client, _optional_str(session.get("end_session_url")) or SESSION_PATH)


async def sign_out_everywhere() -> None:
    """End every session and token of the page's user on every instance ("sign out everywhere"), then log out."""
    user, accounts = current_user(), _accounts()
    if user is None or accounts is None:
        return
    try:  # audited as the API's sign-out-everywhere (accounts/admin.py)
        await account_admin.sign_out_everywhere(accounts, account_admin.Actor(user, client_address()), user.username)
    except AccountError as exc:
        ui.notify(f"Could not sign out everywhere: {exc.message}", type="negative")
        return
    logout()


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
        if isinstance(storage, SharedStorage) and SESSION_COOKIE in request.cookies:
            await storage.reload()  # what another instance did to this session (a logout) counts here at once
        accounts = _accounts()
        session = storage.get(SESSION_KEY)
        user = validate_session(session, accounts)
        wanted = path + (f"?{request.url.query}" if request.url.query else "")
        address = connection_client(request)
        if user is None or session is None:  # a valid user always comes with its session
            if session:
                storage.pop(SESSION_KEY, None)
                audit("session.ended", user=session.get("username"), role=session.get("role"), target=wanted,
                      outcome="expired", client=address)
            return RedirectResponse(_login_redirect(wanted), status_code=303)
        session["seen_at"] = accounts.clock() if accounts else 0.0  # a page request is activity
        storage[SESSION_KEY] = session
        request.state.user = user  # for routes behind the guard that are not pages (downloads)
        audit("page.view", user=user.username, role=user.role, target=wanted, outcome="ok", client=address,
              request_id=safe_request_id(request.headers.get("x-request-id")))
        return await call_next(request)


def _watch_session(client: Client) -> None:
    """On every page connection: a check that ends the page's session as soon as it is no longer valid.

    The check only checks (expiry, idle time, lost access); it never counts as activity and never writes the
    session, so an open tab without page requests idles out after SESSION_IDLE_SECONDS. One task runs the checks of
    every open page every ACCOUNTS_REFRESH_SECONDS (the live pages' ticker), not a timer per tab.
    """
    request = client.request
    if request is None or is_public(request.url.path) or client.storage.get("session_watch"):
        return
    client.storage["session_watch"] = True
    storage = app.storage.user
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    keepalive = _keepalive(client, storage)

    def check() -> None:
        if STOP_WATCH_KEY not in client.storage:
            return  # stopped while the tick that runs it was under way (a logout between two of its chunks)
        client.storage[SESSION_CHECKS_KEY] = client.storage.get(SESSION_CHECKS_KEY, 0) + 1
        if keepalive is not None:
            keepalive.tick()  # a visible tab is activity (ui/session_keepalive.py); before the validity check
        session = storage.get(SESSION_KEY)
        user = validate_session(session, _accounts())
        if user is None:
            if session:
                storage.pop(SESSION_KEY, None)
                audit("session.ended", user=session.get("username"), role=session.get("role"), target=path,
                      outcome="expired", client=connection_client(request))
            _leave_page(client, _login_redirect(path))
        elif client.storage.get(ADMIN_PAGE_KEY) and not user.is_admin:
            _stop_session_watch(client)
            ui.navigate.to(path)  # drawn again for a viewer: the refusal (and its page.denied audit line)

    client.storage[STOP_WATCH_KEY] = hub().ticker.add(client, check)


def _keepalive(client: Client, storage: PageStorage) -> SessionKeepalive | None:
    """The page's visibility/interaction tracking and end-of-session notice (None without accounts)."""
    accounts = _accounts()
    if accounts is None:
        return None

    def valid() -> bool:
        return validate_session(storage.get(SESSION_KEY), _accounts()) is not None

    return SessionKeepalive(
        client, storage, SESSION_KEY, valid, settings=lambda: accounts.settings, clock=lambda: accounts.clock()
    )


def _stop_session_watch(client: Client) -> None:
    """Take the page's session check off the refresh tick (once; a stopped check also does nothing if its tick is
    already under way)."""
    if stop_watch := client.storage.pop(STOP_WATCH_KEY, None):
        stop_watch()


def _leave_page(client: Client, target: str) -> None:
    """Send a page whose session is over to ``target`` (the login page, or the provider's end-session page) and
    close its connection: its session check stops first, so no later tick sends the tab somewhere else."""
    _stop_session_watch(client)
    with client:
        ui.navigate.to(target)
    _disconnect_later(client)


def _disconnect_later(client: Client) -> None:
    """Close the page's connection once the navigation had time to reach the browser: a tab that ignores it gets
    nothing more (the browser reloads, and the reload meets the page guard).

    The client is deleted here even when its tab already closed its socket (a socket that came back within
    NiceGUI's reconnect timeout would cancel NiceGUI's own deletion): NiceGUI's pending deletions are cancelled
    first, and the live sockets closed after, when the client is gone (NiceGUI deletes a client at most once: a
    second deletion raises). The console keeps nothing in NiceGUI's tab storage, so skipping its close loses nothing.
    """

    async def disconnect() -> None:
        await asyncio.sleep(DISCONNECT_GRACE_SECONDS)
        if client.is_deleted or client.id not in Client.instances:
            return
        live_sockets = list(client._socket_to_document_id)
        for document_id in list(client._delete_tasks):
            client._cancel_delete_task(document_id)
        client.delete()
        for socket_id in live_sockets:  # the client is gone, so NiceGUI schedules no deletion for these
            with contextlib.suppress(Exception):
                await core.sio.disconnect(socket_id)

    background_tasks.create(disconnect(), name=f"disconnect ended session {client.id}")


def install_page_guard() -> None:
    """Add the guard middleware and the per-page session watch (called on every app setup)."""
    app.add_middleware(PageGuard)
    app.on_connect(_watch_session)
