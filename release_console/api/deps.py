"""Dependencies of the REST API, all of them: the authenticated caller and its role, the login form, and the
accessors of the running services.

One style: what FastAPI must resolve from the request (the caller, the login form) is a dependency (``CurrentUser``,
``CurrentCaller``, ``AdminUser``, ``LoginForm``); the running services are reached by calling the ``running_*()``
accessors below in the route's body, never through ``Depends`` (each FastAPI dependency costs a resolution step on
every request) and never through the services module directly. Each accessor raises NotStarted (503) while the
console is not running.

``CurrentUser``, ``CurrentCaller`` and ``AdminUser`` resolve the bearer token against the in-memory accounts cache (no
Temporal call per request) with the accounts' one rule (:meth:`AccountsService.check`), so a disabled, deleted or
demoted user is refused at their next request. Each writes the audit line for the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from .. import services
from ..accounts.api_keys import KEY_PREFIX, KEY_TYPE
from ..accounts.errors import BEARER
from ..accounts.models import Principal
from ..accounts.service import ACCOUNT_GONE, AccountsService
from ..core.config import API_PREFIX
from ..core.security import InvalidToken, TokenPayload, decode_access_token
from ..readpath.mirror import MirrorRegistry
from ..readpath.release_list import ReleaseList
from ..runtime.audit import audit, audit_repeated, safe_request_id
from ..runtime.client_ip import connection_client
from ..services import RunningServices

TOKEN_URL = f"{API_PREFIX}/login/access-token"

LoginForm = Annotated[OAuth2PasswordRequestForm, Depends()]
"""The OAuth2 password form of POST /login/access-token."""


def running_services() -> RunningServices:
    """The running services (503 while starting or stopping), for a route that needs several of their parts."""
    return services.running()


def running_accounts() -> AccountsService:
    """The accounts service (503 while the console is not running)."""
    return services.running().accounts


def running_mirrors() -> MirrorRegistry:
    """The mirror registry (503 while the console is not running)."""
    return services.running().mirrors


def running_release_list() -> ReleaseList:
    """The shared release list (503 while the console is not running)."""
    return services.running().release_list


def request_id(request: Request) -> str:
    """The caller's X-Request-ID when well-formed, otherwise a new id (kept on request.state)."""
    existing = getattr(request.state, "request_id", None)
    if existing:
        return existing
    value = safe_request_id(request.headers.get("x-request-id"))
    request.state.request_id = value
    return value


def client_address(request: Request) -> str | None:
    """The client's address: the peer, or the client a trusted proxy (TRUSTED_PROXIES) names in X-Forwarded-For."""
    return connection_client(request)


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in caller and the claims of the token it came with (the event stream re-checks them)."""

    principal: Principal
    token: TokenPayload


REVOKED = "token issued before the account's sessions were revoked (password, role, disabling, sign out everywhere)"


def _refuse(request: Request, reason: str) -> HTTPException:
    """401 for the request; its audit line is aggregated per client (a flood of refusals writes one line a
    minute with a ``repeated`` count), so refused calls cannot rotate the audit record away."""
    audit_repeated(
        "api.auth_failed",
        user=None,
        role=None,
        target=request_target(request, with_query=False),
        outcome="denied",
        client=client_address(request),
        request_id=request_id(request),
        reason=reason,
    )
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"Not authenticated: {reason}", headers=BEARER)


def authenticated(request: Request, token: str | None) -> tuple[TokenPayload, Principal]:
    """The claims and caller of a bearer token that is valid now; 401 with WWW-Authenticate: Bearer otherwise.

    An admitted token is remembered (decoded) until it expires or the accounts change, so most requests cost a
    dict lookup. Called by the user dependencies below (one dependency per request, not a chain: FastAPI's
    dependency resolution costs about as much as the rest of a small request).
    """
    running = running_services()
    accounts = running.accounts
    if not token:
        raise _refuse(request, "missing bearer token")
    if not accounts.loaded.is_set():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "accounts are not loaded yet; try again")
    version = accounts.version
    cached = running.tokens.get(token, version)
    if cached is not None:
        if cached[0].typ == KEY_TYPE:
            accounts.api_keys.last_used[cached[0].jti] = accounts.clock()
        return cached
    if token.startswith(KEY_PREFIX):
        admitted = accounts.api_keys.caller(token)  # no bcrypt, whatever the input
        if admitted is None:
            raise _refuse(request, "unknown, revoked or expired API key (or its owner lost access)")
        running.tokens.put(token, version, *admitted)
        return admitted
    try:
        payload = decode_access_token(token, secret=accounts.settings.secret_key())
    except InvalidToken as exc:
        raise _refuse(request, str(exc)) from None
    principal = accounts.check(payload.sub, payload.iat)
    if principal is None:
        gone = accounts.principal(payload.sub) is None
        raise _refuse(request, ACCOUNT_GONE if gone else REVOKED)
    running.tokens.put(token, version, payload, principal)
    return payload, principal


T = TypeVar("T")


class BearerCaller(OAuth2PasswordBearer, Generic[T]):
    """A dependency that is also the API's OAuth2 security scheme: it reads the bearer token and resolves it to
    the caller with ``resolve`` in one step (a separate token dependency below the user one costs a second
    resolution on every request). Every instance is the same scheme in OpenAPI (``OAuth2PasswordBearer``)."""

    def __init__(self, resolve: Callable[[Request, str | None], T]) -> None:
        super().__init__(tokenUrl=TOKEN_URL, scheme_name="OAuth2PasswordBearer", auto_error=False)
        self.resolve = resolve

    async def __call__(self, request: Request) -> T:  # type: ignore[override]
        """The caller of the request (401, 403 or 503 as ``resolve`` decides)."""
        return self.resolve(request, await super().__call__(request))


def current_user(request: Request, token: str | None) -> Principal:
    """Any signed-in user; the call is audit-logged."""
    payload, principal = authenticated(request, token)
    _audit_call(request, principal, "ok", payload)
    return principal


def current_caller(request: Request, token: str | None) -> Caller:
    """Any signed-in user with its token's claims (for a stream that re-checks its caller); audit-logged."""
    payload, principal = authenticated(request, token)
    _audit_call(request, principal, "ok", payload)
    return Caller(principal, payload)


def admin_user(request: Request, token: str | None) -> Principal:
    """Admins only: 403 for viewers (and for API keys without the admin scope); audit-logged either way."""
    payload, principal = authenticated(request, token)
    if not principal.is_admin:
        _audit_call(request, principal, "denied", payload)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin role")
    _audit_call(request, principal, "ok", payload)
    return principal


def request_target(request: Request, *, with_query: bool = True) -> str:
    """``METHOD /path?query`` of a request for its audit line, read from the ASGI scope (``request.url`` builds
    and re-parses a whole URL: a visible share of a small request's cost)."""
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")  # as request.url.path has it
    query = scope.get("query_string", b"") if with_query else b""
    return f"{scope['method']} {path}?{query.decode(errors='replace')}" if query else f"{scope['method']} {path}"


def _audit_call(request: Request, principal: Principal, outcome: str, payload: TokenPayload | None = None) -> None:
    key = {"api_key": payload.jti} if payload is not None and payload.typ == KEY_TYPE else {}  # the id, never the key
    audit(
        "api.call",
        user=principal.username,
        role=principal.role,
        target=request_target(request),
        outcome=outcome,
        client=client_address(request),
        request_id=request_id(request),
        **key,
    )


CurrentUser = Annotated[Principal, Depends(BearerCaller(current_user))]
CurrentCaller = Annotated[Caller, Depends(BearerCaller(current_caller))]
AdminUser = Annotated[Principal, Depends(BearerCaller(admin_user))]
