"""Dependencies of the REST API: the running services, the authenticated caller and its role.

``CurrentUser`` and ``AdminUser`` resolve the bearer token against the in-memory accounts cache (no Temporal call
per request), so a disabled, deleted or demoted user is refused at their next request. Both write the audit line
for the call.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from .. import services as services_module
from ..accounts.errors import AccountError
from ..accounts.models import Principal
from ..accounts.service import AccountsService
from ..core.audit import audit, safe_request_id
from ..core.security import InvalidToken, decode_access_token
from ..services import Services

if TYPE_CHECKING:
    from .errors import ApiError

TOKEN_URL = "/api/v1/login/access-token"
BEARER = {"WWW-Authenticate": "Bearer"}
CLOCK_SKEW_SECONDS = 5

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def running_services() -> Services:
    """The running services; 503 while the console is starting or stopping."""
    try:
        return services_module.current()
    except RuntimeError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the console is starting; try again") from None


async def get_services() -> Services:
    """Dependency: the running services (503 while starting or stopping)."""
    return running_services()


ServicesDep = Annotated[Services, Depends(get_services)]


def running_accounts(services: Services) -> AccountsService:
    """The accounts service; 503 until it is running."""
    if services.accounts is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "accounts are not available yet; try again")
    return services.accounts


async def get_accounts() -> AccountsService:
    """Dependency: the accounts service (503 until it is running)."""
    return running_accounts(running_services())


AccountsDep = Annotated[AccountsService, Depends(get_accounts)]


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
    from ..core.client_ip import connection_client

    return connection_client(request)


def http_error(exc: AccountError) -> ApiError:
    """The HTTP form of an account error, keeping its specific code (e.g. ``last_admin``); 429 carries
    Retry-After, 401 WWW-Authenticate: Bearer."""
    from .errors import ApiError  # here: api.errors imports api.main, whose routes import this module
    headers = {"Retry-After": str(int(exc.retry_after or 1))} if exc.status == 429 else None
    if exc.status == 401:
        headers = BEARER
    if exc.status == 503:
        headers = {"Retry-After": "5"}
    return ApiError(exc.status, exc.code, exc.message, headers=headers)


def _refuse(request: Request, reason: str) -> HTTPException:
    """401 for the request; its audit line is aggregated per client (a flood of refusals writes one line a
    minute with a ``repeated`` count), so refused calls cannot rotate the audit record away."""
    from ..core.audit import audit_repeated

    audit_repeated(
        "api.auth_failed",
        user=None,
        role=None,
        target=f"{request.method} {request.url.path}",
        outcome="denied",
        client=client_address(request),
        request_id=request_id(request),
        reason=reason,
    )
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"Not authenticated: {reason}", headers=BEARER)


def authenticated(request: Request, token: str | None) -> Principal:
    """The caller of a bearer token that is valid now; 401 with WWW-Authenticate: Bearer otherwise.

    An admitted token is remembered (decoded) until it expires or the accounts change, so most requests cost a
    dict lookup. Called by the user dependencies below (one dependency per request, not a chain: FastAPI's
    dependency resolution costs about as much as the rest of a small request).
    """
    services = running_services()
    accounts = running_accounts(services)
    if not token:
        raise _refuse(request, "missing bearer token")
    if not accounts.loaded.is_set():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "accounts are not loaded yet; try again")
    version = accounts.version
    cached = services.tokens.get(token, version)
    if cached is not None:
        request.state.token_payload = cached[0]
        return cached[1]
    try:
        payload = decode_access_token(token, secret=accounts.settings.secret_key())
    except InvalidToken as exc:
        raise _refuse(request, str(exc)) from None
    principal = accounts.principal(payload.sub)
    if principal is None:
        raise _refuse(request, "account disabled or removed")
    changed_at = accounts.users[principal.username].password_changed_at
    if changed_at and payload.iat + CLOCK_SKEW_SECONDS < datetime.fromisoformat(changed_at).timestamp():
        raise _refuse(request, "token issued before the password was changed")
    services.tokens.put(token, version, payload, principal)
    request.state.token_payload = payload
    return principal


async def get_current_user(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """Any signed-in user; the call is audit-logged."""
    principal = authenticated(request, token)
    _audit_call(request, principal, "ok")
    return principal


async def get_admin_user(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """Admins only: 403 for viewers; the call is audit-logged either way."""
    principal = authenticated(request, token)
    if not principal.is_admin:
        _audit_call(request, principal, "denied")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs the admin role")
    _audit_call(request, principal, "ok")
    return principal


def _audit_call(request: Request, principal: Principal, outcome: str) -> None:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    audit(
        "api.call",
        user=principal.username,
        role=principal.role,
        target=f"{request.method} {target}",
        outcome=outcome,
        client=client_address(request),
        request_id=request_id(request),
    )


CurrentUser = Annotated[Principal, Depends(get_current_user)]
AdminUser = Annotated[Principal, Depends(get_admin_user)]
